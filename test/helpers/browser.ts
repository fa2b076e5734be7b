import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { rendererOutdated } from '../../cli/build-state.ts';
import { createDispatcher, type Dispatcher } from '../../engine/api/dispatcher.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { type RunningServer, startServer } from '../../server/http-server.ts';
import { PROJECT_ROOT } from './project.ts';

// Browser mode in Debian's Chromium: the built renderer served over HTTP, as `lakehouse serve` does.
// Free of vitest, so the benchmarks can drive the browser the same way.

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`[e2e] skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

export const SCREENSHOTS = join(PROJECT_ROOT, 'test', 'e2e', 'screenshots');

/** Headless Chromium with nothing running in the background that could slow or disturb a measurement. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
}

/** A 1280x800 page (unless `options` say otherwise) that logs the app's uncaught errors. */
export async function newAppPage(browser: Browser, options: BrowserContextOptions = {}): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, ...options });
  page.on('pageerror', (error) => console.error('[e2e] page error:', error));
  return page;
}

/**
 * Presses Ctrl+End in the SQL console's grid until its row count reads `count`: each press goes to the
 * last row loaded, which makes the console load the next window.
 */
export async function scrollConsoleToEnd(page: Page, count: string): Promise<void> {
  const grid = page.getByTestId('query-grid');
  await grid.locator('[data-testid="grid-row"] td').first().click();
  await expect
    .poll(async () => {
      await page.keyboard.press('Control+End');
      return page.getByTestId('query-count').textContent();
    })
    .toBe(count);
}

/** Replaces the model editor's line matching `line` with `text`, as a user types it. */
export async function retypeEditorLine(page: Page, line: RegExp, text: string): Promise<void> {
  await page.locator('.cm-line', { hasText: line }).click();
  await page.keyboard.press('End');
  await page.keyboard.press('Shift+Home');
  await page.keyboard.type(text);
  await page.keyboard.press('Escape');
}

export interface OpenApp {
  engine: Engine;
  dispatcher: Dispatcher;
  server: RunningServer;
  browser: Browser;
  page: Page;
  /** Closes the browser, the server, the dispatcher and the engine (the project folder stays). */
  close(): Promise<void>;
}

export interface OpenAppOptions {
  projectDir: string;
  /** Runs before the app is served, e.g. to run the pipeline. */
  prepare?: (engine: Engine) => Promise<void>;
  /** A renderer built elsewhere; by default dist/renderer, built first when it is missing or outdated. */
  staticDir?: string;
  page?: BrowserContextOptions;
  /** Whether to wait until the app has shown the project's name (default true). */
  waitForProject?: boolean;
}

/** Builds dist/renderer when it is missing or older than its sources (test/global-setup.ts does it first). */
export function buildRendererIfOutdated(): void {
  if (rendererOutdated()) execFileSync('npx', ['vite', 'build'], { cwd: PROJECT_ROOT, stdio: 'inherit' });
}

/** The app on `projectDir`, served on a free port and open in Chromium. */
export async function openApp(options: OpenAppOptions): Promise<OpenApp> {
  if (!options.staticDir) buildRendererIfOutdated();
  let engine: Engine | undefined;
  let dispatcher: Dispatcher | undefined;
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await server?.close();
    await dispatcher?.close();
    engine?.close();
  };
  try {
    engine = await createEngine({ projectDir: options.projectDir });
    await options.prepare?.(engine);
    dispatcher = createDispatcher(engine);
    server = await startServer({ dispatcher, port: 0, staticDir: options.staticDir });
    browser = await launchChromium();
    const page = await newAppPage(browser, options.page);
    await page.goto(server.url);
    if (options.waitForProject ?? true) {
      await page.waitForFunction(
        () => document.querySelector('[data-testid="project-name"]')?.textContent !== '…',
      );
    }
    return { engine, dispatcher, server, browser, page, close };
  } catch (error) {
    // A failed start leaves nothing for afterAll to close, so it cleans up here.
    await close();
    throw error;
  }
}

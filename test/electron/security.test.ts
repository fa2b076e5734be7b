import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  appPageUrl,
  CONTENT_SECURITY_POLICY,
  denyPermissionRequest,
  type HardenableContents,
  hardenWebContents,
  isAppPage,
  RENDERER_META_CSP,
} from '../../electron/security.ts';
import { PROJECT_ROOT } from '../helpers/project.ts';

// The window's hardening as pure functions over the few webContents methods it uses (Electron's binary
// cannot run here); main.ts, which imports electron, is checked by its source.

const APP = appPageUrl('/opt/lakehouse/dist/renderer');

/** A webContents stand-in that records the handlers main.ts would install. */
function fakeContents() {
  type Listener = (event: { url: string; isMainFrame: boolean; preventDefault(): void }) => void;
  const listeners = new Map<string, Listener>();
  let openHandler: (() => { action: 'deny' }) | undefined;
  const contents: HardenableContents = {
    setWindowOpenHandler: (handler) => {
      openHandler = handler;
    },
    on: (event: string, listener: Listener) => {
      listeners.set(event, listener);
    },
  };
  /** Whether the handler of `event` prevented it. */
  const emit = (event: string, url = '', isMainFrame = true) => {
    let prevented = false;
    listeners.get(event)?.({ url, isMainFrame, preventDefault: () => (prevented = true) });
    return prevented;
  };
  return { contents, emit, open: () => openHandler?.() };
}

describe("the app's page", () => {
  it('is index.html of the renderer bundle, as a file:// URL', () => {
    expect(APP).toBe('file:///opt/lakehouse/dist/renderer/index.html');
  });

  it('is trusted only as itself: not a sibling folder, another file, or another origin', () => {
    expect(isAppPage(APP, APP)).toBe(true);
    expect(isAppPage(`${APP}#/tables`, APP)).toBe(true);
    for (const url of [
      // A prefix test of the folder without a trailing slash passed this one.
      'file:///opt/lakehouse/dist/renderer-evil/index.html',
      'file:///opt/lakehouse/dist/renderer/other.html',
      'file:///opt/lakehouse/dist/renderer/assets/index.js',
      'file:///opt/lakehouse/dist/renderer/',
      `${APP}?x=1`,
      'https://evil.example/opt/lakehouse/dist/renderer/index.html',
      'not a url',
      '',
      undefined,
      null,
    ]) {
      expect(isAppPage(url, APP), String(url)).toBe(false);
    }
  });
});

describe('the hardened webContents', () => {
  it('opens no window, navigates nowhere but the app, attaches no webview', () => {
    const { contents, emit, open } = fakeContents();
    hardenWebContents(contents, APP);
    expect(open()).toEqual({ action: 'deny' });
    expect(emit('will-navigate', 'https://evil.example/')).toBe(true);
    expect(emit('will-navigate', 'file:///opt/lakehouse/dist/renderer-evil/index.html')).toBe(true);
    expect(emit('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(emit('will-navigate', APP)).toBe(false);
    expect(emit('will-attach-webview')).toBe(true);
    // A subframe, which will-navigate never sees, stays on the app's page too.
    expect(emit('will-frame-navigate', 'https://evil.example/', false)).toBe(true);
    expect(emit('will-frame-navigate', APP, false)).toBe(false);
    expect(CONTENT_SECURITY_POLICY).toContain("frame-src 'none'");
  });

  it('denies every permission request', () => {
    const answers: boolean[] = [];
    for (const permission of ['media', 'notifications', 'geolocation', 'openExternal']) {
      denyPermissionRequest(null, permission, (granted) => answers.push(granted));
    }
    expect(answers).toEqual([false, false, false, false]);
  });

  it('main.ts installs all of it and sends events to its own window only', async () => {
    const main = await readFile(join(PROJECT_ROOT, 'electron', 'main.ts'), 'utf8');
    expect(main).toMatch(
      /app\.on\('web-contents-created', \(_event, contents\) => hardenWebContents\(contents, appUrl\)\)/,
    );
    expect(main).toContain('setPermissionRequestHandler(denyPermissionRequest)');
    expect(main).toContain('setPermissionCheckHandler(() => false)');
    expect(main).toContain('isTrustedSender: (event) => isAppPage(event.senderFrame?.url, appUrl)');
    expect(main).not.toContain('startsWith');
    // The command line reads through the window's engine (test/cli/through-app.test.ts), on loopback.
    expect(main).toContain('openForCommandLine(engine.project.root, dispatcher');
    // Events carry run progress and results: not to every window Electron knows of.
    expect(main).toMatch(
      /targets: \(\) => \(appWindow && !appWindow\.isDestroyed\(\) \? \[appWindow\.webContents\] : \[\]\)/,
    );
  });
});

describe('the Content-Security-Policy', () => {
  it('the packaged app flips the fuses that let its binary run as Node or take injected code', async () => {
    const config = parse(await readFile(join(PROJECT_ROOT, 'electron-builder.yml'), 'utf8')) as {
      electronFuses?: Record<string, boolean>;
    };
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
    });
  });

  it("renderer/index.html carries the window's policy: headers do not reach a file:// page", async () => {
    const html = await readFile(join(PROJECT_ROOT, 'renderer', 'index.html'), 'utf8');
    const meta = html.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)"/)?.[1];
    expect(meta).toBe(RENDERER_META_CSP);
    const directives = RENDERER_META_CSP.split('; ');
    expect(directives).toEqual(
      expect.arrayContaining([
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
      ]),
    );
    // Ignored in a meta tag; the header (browser mode) keeps it.
    expect(directives.some((d) => d.startsWith('frame-ancestors'))).toBe(false);
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
  });
});

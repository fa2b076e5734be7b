import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WebPreferences } from 'electron';

/**
 * The renderer gets no Node access: isolated context, OS sandbox, and only what the preload's
 * contextBridge exposes. Kept in one place so a test can assert it.
 */
export function secureWebPreferences(preloadPath: string): WebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
  };
}

/**
 * Content-Security-Policy for the renderer: only its own bundle, no remote code, no eval, no plugins,
 * no frames, no <base> or form posts. The window loads a file:// page, which response headers do not reach, so
 * renderer/index.html carries the same policy in a meta tag (RENDERER_META_CSP; a test keeps them equal).
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The policy as a meta tag can carry it: browsers ignore frame-ancestors there (and warn about it). */
export const RENDERER_META_CSP = CONTENT_SECURITY_POLICY.split('; ')
  .filter((directive) => !directive.startsWith('frame-ancestors '))
  .join('; ');

/** The app's one page: the renderer bundle's index.html, as the file:// URL the window loads. */
export function appPageUrl(rendererDir: string): string {
  return pathToFileURL(join(rendererDir, 'index.html')).href;
}

/**
 * Whether `url` is the app's own page (a #fragment aside). Compared whole: a prefix test would also
 * pass a sibling folder (`.../renderer-evil/`) or any other file a page could be opened from.
 */
export function isAppPage(url: string | null | undefined, appUrl: string): boolean {
  if (!url) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  parsed.hash = '';
  return parsed.href === new URL(appUrl).href;
}

/** The part of Electron's webContents the hardening uses. */
export interface HardenableContents {
  setWindowOpenHandler(handler: () => { action: 'deny' }): void;
  on(event: 'will-navigate', listener: (event: { url: string; preventDefault(): void }) => void): unknown;
  on(
    event: 'will-frame-navigate',
    listener: (event: { url: string; isMainFrame: boolean; preventDefault(): void }) => void,
  ): unknown;
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): unknown;
}

/**
 * Keeps a webContents on the app's page: no new windows (window.open, target=_blank), no navigation
 * away from the page (a navigated window would keep the preload's bridge), no <webview>.
 */
export function hardenWebContents(contents: HardenableContents, appUrl: string): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event) => {
    if (!isAppPage(event.url, appUrl)) event.preventDefault();
  });
  // will-navigate fires for the main frame only; the page has no frames (frame-src 'none'), and any
  // a later change lets in must not leave the app either.
  contents.on('will-frame-navigate', (event) => {
    if (!event.isMainFrame && !isAppPage(event.url, appUrl)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/** Permission requests (camera, notifications, geolocation, ...): the app needs none, so all are denied. */
export function denyPermissionRequest(
  _contents: unknown,
  _permission: string,
  callback: (granted: boolean) => void,
): void {
  callback(false);
}

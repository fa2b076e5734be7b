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
  };
}

/** Content-Security-Policy for the renderer: only its own bundle, no remote code, no eval. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

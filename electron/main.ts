import { join } from 'node:path';
import { app, BrowserWindow, session } from 'electron';
import { CONTENT_SECURITY_POLICY, secureWebPreferences } from './security.ts';

// Thin main process: one hardened window over the renderer bundle. The engine dispatcher and the IPC
// channel arrive with the desktop-app issue; until then the CLI (`lakehouse`) is the way to run pipelines.
async function createWindow(): Promise<void> {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
  const window = new BrowserWindow({
    width: 1280,
    height: 800,
    title: 'Lakehouse Explorer',
    webPreferences: secureWebPreferences(join(import.meta.dirname, 'preload.cjs')),
  });
  await window.loadFile(join(import.meta.dirname, '..', 'renderer', 'index.html'));
}

app.whenReady().then(createWindow);
app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});

import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, session } from 'electron';
import { createDispatcher, type Dispatcher } from '../engine/api/dispatcher.ts';
import { toLakehouseError } from '../engine/api/errors.ts';
import { createEngine, type Engine } from '../engine/engine.ts';
import { wireIpc } from './ipc.ts';
import { CONTENT_SECURITY_POLICY, secureWebPreferences } from './security.ts';

// Thin main process: open the project's engine, serve it to the window over IPC (electron/ipc.ts), and
// show one hardened window over the renderer bundle.
const rendererDir = join(import.meta.dirname, '..', 'renderer');

/** The project to open: `--project <dir>`, else LAKEHOUSE_PROJECT, else ./demo. */
function projectDir(): string {
  const flag = process.argv.indexOf('--project');
  const fromFlag = flag >= 0 ? process.argv[flag + 1] : undefined;
  return resolve(fromFlag ?? process.env.LAKEHOUSE_PROJECT ?? 'demo');
}

let opened: { engine: Engine; dispatcher: Dispatcher; unwire: () => void } | undefined;

async function createWindow(): Promise<void> {
  const window = new BrowserWindow({
    width: 1280,
    height: 800,
    title: 'Lakehouse Explorer',
    webPreferences: secureWebPreferences(join(import.meta.dirname, 'preload.cjs')),
  });
  await window.loadFile(join(rendererDir, 'index.html'));
}

async function start(): Promise<void> {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
  try {
    const engine = await createEngine({ projectDir: projectDir() });
    const dispatcher = createDispatcher(engine);
    const rendererUrl = pathToFileURL(rendererDir).href;
    const unwire = wireIpc({
      ipcMain,
      dispatcher,
      targets: () => BrowserWindow.getAllWindows().map((w) => w.webContents),
      isTrustedSender: (event) => event.senderFrame?.url.startsWith(rendererUrl) ?? false,
    });
    opened = { engine, dispatcher, unwire };
  } catch (error) {
    const { code, message } = toLakehouseError(error);
    dialog.showErrorBox('Lakehouse Explorer cannot open the project', `[${code}] ${message}`);
    app.quit();
    return;
  }
  await createWindow();
}

app.whenReady().then(start);
app.on('activate', () => {
  if (opened && BrowserWindow.getAllWindows().length === 0) void createWindow();
});
app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
// A run in progress is cancelled (its date rolled back) before the warehouse closes.
app.on('before-quit', (event) => {
  const current = opened;
  if (!current) return;
  event.preventDefault();
  opened = undefined;
  current.unwire();
  void current.dispatcher.close().finally(() => {
    current.engine.close();
    app.quit();
  });
});

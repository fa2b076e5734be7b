import { join, resolve } from 'node:path';
import { app, BrowserWindow, dialog, ipcMain, session } from 'electron';
import { createDispatcher, type Dispatcher } from '../engine/api/dispatcher.ts';
import { toLakehouseError } from '../engine/api/errors.ts';
import { createEngine, type Engine } from '../engine/engine.ts';
import { type CommandLineAccess, openForCommandLine } from '../server/command-line-access.ts';
import { ensureDemoProject } from './first-launch.ts';
import { wireIpc } from './ipc.ts';
import {
  appPageUrl,
  CONTENT_SECURITY_POLICY,
  denyPermissionRequest,
  hardenWebContents,
  isAppPage,
  secureWebPreferences,
} from './security.ts';

// Thin main process: open the project's engine, serve it to the window over IPC (electron/ipc.ts), and
// show one hardened window over the renderer bundle.
const rendererDir = join(import.meta.dirname, '..', 'renderer');
const appUrl = appPageUrl(rendererDir);

/**
 * The project to open: `--project <dir>`, else LAKEHOUSE_PROJECT, else the demo: ./demo from a
 * checkout, the user's data folder in a packaged app (its working directory is not the user's).
 */
function projectDir(): { dir: string; isDemo: boolean } {
  const flag = process.argv.indexOf('--project');
  const chosen = (flag >= 0 ? process.argv[flag + 1] : undefined) ?? process.env.LAKEHOUSE_PROJECT;
  if (chosen) return { dir: resolve(chosen), isDemo: false };
  return { dir: app.isPackaged ? join(app.getPath('userData'), 'demo') : resolve('demo'), isDemo: true };
}

let opened:
  | { engine: Engine; dispatcher: Dispatcher; unwire: () => void; access: CommandLineAccess | undefined }
  | undefined;
let firstRun: (() => void) | undefined;
/** The app's window: the only one engine events go to. */
let appWindow: BrowserWindow | undefined;
/** A quit closes the windows first; one whose unsaved model edit the user stays for cancels it. */
let quitting = false;

async function createWindow(): Promise<void> {
  const window = new BrowserWindow({
    width: 1280,
    height: 800,
    title: 'Lakehouse Explorer',
    webPreferences: secureWebPreferences(join(import.meta.dirname, 'preload.cjs')),
  });
  appWindow = window;
  window.on('closed', () => {
    if (appWindow === window) appWindow = undefined;
  });
  // The renderer refuses to unload while a model edit is unsaved; Electron then asks nothing by itself.
  window.webContents.on('will-prevent-unload', (event) => {
    const choice = dialog.showMessageBoxSync(window, {
      type: 'question',
      buttons: ['Leave', 'Stay'],
      defaultId: 1,
      cancelId: 1,
      title: 'Unsaved model edit',
      message: 'A model has edits that are not saved. Leave and lose them?',
    });
    if (choice === 0) event.preventDefault();
    else quitting = false;
  });
  await window.loadFile(join(rendererDir, 'index.html'));
}

// Every webContents, the app's and any other (devtools aside), stays on the app's page.
app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, appUrl));

async function start(): Promise<void> {
  session.defaultSession.setPermissionRequestHandler(denyPermissionRequest);
  session.defaultSession.setPermissionCheckHandler(() => false);
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
  try {
    const project = projectDir();
    // First launch: create the demo, then run it once the window shows (its progress is the first view).
    const created = project.isDemo && (await ensureDemoProject(project.dir));
    const engine = await createEngine({ projectDir: project.dir });
    const dispatcher = createDispatcher(engine);
    if (created) firstRun = () => void dispatcher.call('pipeline.run', {}).catch(() => undefined);
    const unwire = wireIpc({
      ipcMain,
      dispatcher,
      targets: () => (appWindow && !appWindow.isDestroyed() ? [appWindow.webContents] : []),
      isTrustedSender: (event) => isAppPage(event.senderFrame?.url, appUrl),
    });
    // The window holds the warehouse open: `lakehouse query` and friends read through this instead.
    const access = await openForCommandLine(engine.project.root, dispatcher, {
      staticDir: rendererDir,
    }).catch((error: unknown) => {
      console.error(`The command line cannot read through the app: ${toLakehouseError(error).message}`);
      return undefined;
    });
    opened = { engine, dispatcher, unwire, access };
  } catch (error) {
    const { code, message } = toLakehouseError(error);
    dialog.showErrorBox('Lakehouse Explorer cannot open the project', `[${code}] ${message}`);
    app.quit();
    return;
  }
  await createWindow();
  firstRun?.();
  firstRun = undefined;
}

app.whenReady().then(start);
app.on('activate', () => {
  if (opened && BrowserWindow.getAllWindows().length === 0) void createWindow();
});
app.on('window-all-closed', () => {
  if (process.platform !== 'darwin' || quitting) app.quit();
});
// A run in progress is cancelled (its date rolled back) before the warehouse closes.
app.on('before-quit', (event) => {
  const current = opened;
  if (!current) return;
  event.preventDefault();
  // The windows close first, so one with an unsaved edit can ask; the engine stays open if the user stays.
  const windows = BrowserWindow.getAllWindows();
  if (windows.length > 0) {
    quitting = true;
    for (const window of windows) window.close();
    return;
  }
  opened = undefined;
  current.unwire();
  void (current.access?.close() ?? Promise.resolve())
    .catch(() => undefined)
    .then(() => current.dispatcher.close())
    .finally(() => {
      current.engine.close();
      app.quit();
    });
});

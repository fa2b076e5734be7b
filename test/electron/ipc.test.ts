import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InvokeEventLike, type IpcMainLike, type WebContentsLike, wireIpc } from '../../electron/ipc.ts';
import { CONTENT_SECURITY_POLICY, isAppPage, secureWebPreferences } from '../../electron/security.ts';
import {
  IPC_EVENT_CHANNEL,
  IPC_INVOKE_CHANNEL,
  type LakehouseEvent,
  RpcResponse,
} from '../../engine/api/contract.ts';
import { createDispatcher, type Dispatcher } from '../../engine/api/dispatcher.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { generatedProject, PROJECT_ROOT, removeDir, tempDir } from '../helpers/project.ts';

// Electron's binary cannot run here, so the main-process wiring is a pure function over the few methods
// of ipcMain and webContents it uses; these stand-ins record what Electron would carry.

type Handler = (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>;

function fakeIpcMain() {
  const handlers = new Map<string, Handler>();
  const ipcMain: IpcMainLike = {
    handle(channel, listener) {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`);
      handlers.set(channel, listener);
    },
    removeHandler(channel) {
      handlers.delete(channel);
    },
  };
  /** What `ipcRenderer.invoke(channel, ...args)` from a frame at `url` would get back. */
  const invoke = async (url: string, ...args: unknown[]) => {
    const handler = handlers.get(IPC_INVOKE_CHANNEL);
    if (!handler) throw new Error('no handler');
    return RpcResponse.parse(await handler({ senderFrame: { url } }, ...args));
  };
  return { ipcMain, handlers, invoke };
}

function fakeWebContents() {
  const sent: { channel: string; payload: unknown }[] = [];
  let destroyed = false;
  const contents: WebContentsLike = {
    send: (channel, payload) => sent.push({ channel, payload }),
    isDestroyed: () => destroyed,
  };
  return { contents, sent, destroy: () => (destroyed = true) };
}

/** The next run.finished event of the dispatcher. */
function nextRunFinished(): Promise<LakehouseEvent> {
  return new Promise((resolve) => {
    const off = dispatcher.subscribe((event) => {
      if (event.type === 'run.finished') {
        off();
        resolve(event);
      }
    });
  });
}

const APP = 'file:///opt/lakehouse/renderer/index.html';

let work: string;
let engine: Engine;
let dispatcher: Dispatcher;

beforeAll(async () => {
  work = await tempDir('lakehouse-ipc-');
  const project = await generatedProject(work, 1, 200);
  engine = await createEngine({ projectDir: project.dir });
  dispatcher = createDispatcher(engine);
});

afterAll(async () => {
  await dispatcher?.close();
  engine?.close();
  if (work) await removeDir(work);
});

describe('the Electron IPC wiring', () => {
  it('checks method names against the contract before the dispatcher sees them', async () => {
    const { ipcMain, invoke } = fakeIpcMain();
    const reached: string[] = [];
    const unwire = wireIpc({
      ipcMain,
      dispatcher: {
        invoke: (method, input) => {
          reached.push(method);
          return dispatcher.invoke(method, input);
        },
        subscribe: dispatcher.subscribe,
      },
      targets: () => [],
    });
    for (const method of ['shell.openExternal', 'constructor', '__proto__', 42, undefined]) {
      const reply = await invoke(APP, method, {});
      expect(reply).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENT' } });
    }
    expect(reached).toEqual([]);
    const info = await invoke(APP, 'project.info', {});
    expect(info).toMatchObject({ ok: true, value: { name: 'customer-search' } });
    // Engine errors keep their code and details across IPC (a rejected Error would lose them).
    const bad = await invoke(APP, 'pipeline.run', { dates: ['2022-02-30'] });
    expect(bad).toMatchObject({
      ok: false,
      error: { code: 'INVALID_ARGUMENT', details: { method: 'pipeline.run' } },
    });
    expect(reached).toEqual(['project.info', 'pipeline.run']);
    unwire();
  });

  it('refuses calls from frames other than the app, when asked to', async () => {
    const { ipcMain, invoke } = fakeIpcMain();
    const unwire = wireIpc({
      ipcMain,
      dispatcher,
      targets: () => [],
      isTrustedSender: (event) => isAppPage(event.senderFrame?.url, APP),
    });
    for (const sender of ['https://evil.example/', 'file:///opt/lakehouse/renderer-evil/index.html']) {
      expect(await invoke(sender, 'project.info', {})).toMatchObject({
        ok: false,
        error: { code: 'INVALID_ARGUMENT', details: { sender } },
      });
    }
    expect(await invoke(APP, 'project.info', {})).toMatchObject({ ok: true });
    unwire();
  });

  it('forwards every event to live windows on the event channel, and stops when unwired', async () => {
    const { ipcMain, handlers, invoke } = fakeIpcMain();
    const live = fakeWebContents();
    const closed = fakeWebContents();
    closed.destroy();
    const unwire = wireIpc({ ipcMain, dispatcher, targets: () => [live.contents, closed.contents] });

    const finished = nextRunFinished();
    const started = await invoke(APP, 'pipeline.run', { select: ['bronze.customer_search'] });
    expect(started).toMatchObject({ ok: true, value: { total: 1 } });
    const last = await finished;
    expect(last).toMatchObject({ type: 'run.finished', summary: { status: 'success' } });

    expect(closed.sent).toEqual([]);
    expect(live.sent.every((m) => m.channel === IPC_EVENT_CHANNEL)).toBe(true);
    const kinds = live.sent.map((m) => {
      const event = m.payload as LakehouseEvent;
      return event.type === 'run.progress' ? event.kind : event.type;
    });
    expect(kinds).toEqual([
      'run-start',
      'model-start',
      'model-done',
      'date-committed',
      'run-done',
      'run.finished',
    ]);
    expect(live.sent.at(-1)?.payload).toEqual(last);

    unwire();
    expect(handlers.has(IPC_INVOKE_CHANNEL)).toBe(false);
    const count = live.sent.length;
    const again = nextRunFinished();
    await dispatcher.call('pipeline.run', { select: ['bronze.customer_search'] });
    await again;
    expect(live.sent).toHaveLength(count);
  });
});

describe('the Electron window', () => {
  it('is isolated, sandboxed and without Node', () => {
    const preferences = secureWebPreferences('/opt/lakehouse/electron/preload.cjs');
    expect(preferences).toMatchObject({
      preload: '/opt/lakehouse/electron/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
    expect(CONTENT_SECURITY_POLICY).toMatch(/default-src 'self'/);
    expect(CONTENT_SECURITY_POLICY).toMatch(/script-src 'self'(;|$)/);
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval/);
  });

  it('main uses those settings and the IPC wiring; the preload exposes one invoke and one subscription', async () => {
    // main.ts and preload.ts import electron, which cannot load here: their source is checked instead.
    const main = await readFile(join(PROJECT_ROOT, 'electron', 'main.ts'), 'utf8');
    expect(main).toMatch(/webPreferences: secureWebPreferences\(/);
    expect(main).not.toMatch(/nodeIntegration|contextIsolation|sandbox/);
    expect(main).toMatch(/wireIpc\(\{/);
    const preload = await readFile(join(PROJECT_ROOT, 'electron', 'preload.ts'), 'utf8');
    expect(preload.match(/exposeInMainWorld\(/g)).toHaveLength(1);
    expect(preload).toMatch(/exposeInMainWorld\('lakehouse', bridge\)/);
    expect(preload).toContain(`ipcRenderer.invoke('${IPC_INVOKE_CHANNEL}'`);
    expect(preload).toContain(`ipcRenderer.on('${IPC_EVENT_CHANNEL}'`);
    expect(preload.match(/ipcRenderer\.\w+/g)?.sort()).toEqual([
      'ipcRenderer.invoke',
      'ipcRenderer.on',
      'ipcRenderer.removeListener',
    ]);
  });
});

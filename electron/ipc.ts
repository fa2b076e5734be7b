import {
  IPC_EVENT_CHANNEL,
  IPC_INVOKE_CHANNEL,
  isMethodName,
  METHOD_NAMES,
  type RpcResponse,
} from '../engine/api/contract.ts';
import type { Dispatcher } from '../engine/api/dispatcher.ts';

/** The part of an IpcMainInvokeEvent the wiring reads. */
export interface InvokeEventLike {
  senderFrame?: { url: string } | null;
}

/** The part of Electron's ipcMain the wiring uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

/** The part of a window's webContents the wiring uses. */
export interface WebContentsLike {
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

export interface IpcWiring {
  ipcMain: IpcMainLike;
  dispatcher: Pick<Dispatcher, 'invoke' | 'subscribe'>;
  /** The windows to send events to, asked at each event (windows come and go). */
  targets: () => WebContentsLike[];
  /** Whether a call comes from the app's own page (default: any sender). */
  isTrustedSender?: (event: InvokeEventLike) => boolean;
}

/**
 * Connects the renderer's one invoke channel to the dispatcher and forwards every dispatcher event on the
 * one event channel. Method names are checked against the contract before the dispatcher sees them;
 * replies are RpcResponse values, since Electron drops a rejected Error's code and details. Returns the undo.
 */
export function wireIpc({ ipcMain, dispatcher, targets, isTrustedSender }: IpcWiring): () => void {
  ipcMain.handle(IPC_INVOKE_CHANNEL, async (event, method, input): Promise<RpcResponse> => {
    if (isTrustedSender && !isTrustedSender(event)) {
      return refuse('Calls are accepted from the app window only.', {
        sender: event.senderFrame?.url ?? null,
      });
    }
    if (!isMethodName(method)) {
      return refuse(`Unknown method "${String(method)}". Methods: ${METHOD_NAMES.join(', ')}.`, {
        method: String(method),
        methods: METHOD_NAMES,
      });
    }
    return dispatcher.invoke(method, input);
  });
  const unsubscribe = dispatcher.subscribe((event) => {
    for (const target of targets()) {
      if (!target.isDestroyed()) target.send(IPC_EVENT_CHANNEL, event);
    }
  });
  return () => {
    unsubscribe();
    ipcMain.removeHandler(IPC_INVOKE_CHANNEL);
  };
}

function refuse(message: string, details: Record<string, unknown>): RpcResponse {
  return { ok: false, error: { code: 'INVALID_ARGUMENT', message, details } };
}

import type { LakehouseBridge, Transport } from '../../../engine/api/contract.ts';
import { createForwardingTransport } from '../../../engine/api/forwarding-transport.ts';

declare global {
  interface Window {
    /** Set by electron/preload.ts in the desktop app; absent in a browser. */
    lakehouse?: LakehouseBridge;
  }
}

/** Electron: calls and events through the preload's bridge (ipcRenderer.invoke and one event channel). */
export function createIpcTransport(bridge: LakehouseBridge): Transport {
  return createForwardingTransport(
    (method, input) => bridge.invoke(method, input),
    (listener) => bridge.onEvent(listener),
  );
}

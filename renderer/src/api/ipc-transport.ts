import type { LakehouseBridge, Transport } from '../../../engine/api/contract.ts';

declare global {
  interface Window {
    /** Set by electron/preload.ts in the desktop app; absent in a browser. */
    lakehouse?: LakehouseBridge;
  }
}

/** Electron: calls and events through the preload's bridge (ipcRenderer.invoke and one event channel). */
export function createIpcTransport(bridge: LakehouseBridge): Transport {
  const unsubscribes = new Set<() => void>();
  return {
    invoke: (method, input) => bridge.invoke(method, input),
    subscribe(listener) {
      const off = bridge.onEvent(listener);
      unsubscribes.add(off);
      return () => {
        off();
        unsubscribes.delete(off);
      };
    },
    // The main process forwards events to the window from the moment it exists.
    ready: () => Promise.resolve(),
    close() {
      for (const off of unsubscribes) off();
      unsubscribes.clear();
    },
  };
}

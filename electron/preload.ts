import { contextBridge, ipcRenderer } from 'electron';
import type { LakehouseBridge } from '../engine/api/contract.ts';

// The renderer's only door to the main process: one invoke and one event subscription. The channel names
// are IPC_INVOKE_CHANNEL and IPC_EVENT_CHANNEL of the contract, written out: a sandboxed preload imports
// nothing but electron.
const bridge: LakehouseBridge = {
  invoke: (method, input) => ipcRenderer.invoke('lakehouse:invoke', method, input),
  onEvent: (listener) => {
    const handler = (_event: unknown, payload: unknown) => listener(payload);
    ipcRenderer.on('lakehouse:event', handler);
    return () => {
      ipcRenderer.removeListener('lakehouse:event', handler);
    };
  },
};
contextBridge.exposeInMainWorld('lakehouse', bridge);

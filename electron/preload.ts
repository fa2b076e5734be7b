import { contextBridge, ipcRenderer } from 'electron';

// The renderer's only door to the main process: one invoke and one event subscription.
contextBridge.exposeInMainWorld('lakehouse', {
  invoke: (method: string, input: unknown) => ipcRenderer.invoke('lakehouse:invoke', method, input),
  onEvent: (listener: (event: unknown) => void) => {
    const handler = (_event: unknown, payload: unknown) => listener(payload);
    ipcRenderer.on('lakehouse:event', handler);
    return () => ipcRenderer.removeListener('lakehouse:event', handler);
  },
});

import type { Transport } from './contract.ts';
import type { Dispatcher } from './dispatcher.ts';
import { createForwardingTransport } from './forwarding-transport.ts';

/**
 * The dispatcher in the same process (tests, scripts). Replies and events are structured-cloned, as
 * Electron's IPC does, so a value that could not cross a process boundary fails here too.
 */
export function createInProcessTransport(dispatcher: Dispatcher): Transport {
  return createForwardingTransport(
    async (method, input) => structuredClone(await dispatcher.invoke(method, structuredClone(input))),
    (listener) => dispatcher.subscribe((event) => listener(structuredClone(event))),
  );
}

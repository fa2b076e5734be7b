import type { Transport } from './contract.ts';
import type { Dispatcher } from './dispatcher.ts';

/**
 * The dispatcher in the same process (tests, scripts). Replies and events are structured-cloned, as
 * Electron's IPC does, so a value that could not cross a process boundary fails here too.
 */
export function createInProcessTransport(dispatcher: Dispatcher): Transport {
  const unsubscribes = new Set<() => void>();
  return {
    async invoke(method, input) {
      return structuredClone(await dispatcher.invoke(method, structuredClone(input)));
    },
    subscribe(listener) {
      const off = dispatcher.subscribe((event) => listener(structuredClone(event)));
      unsubscribes.add(off);
      return () => {
        off();
        unsubscribes.delete(off);
      };
    },
    ready: () => Promise.resolve(),
    close() {
      for (const off of unsubscribes) off();
      unsubscribes.clear();
    },
  };
}

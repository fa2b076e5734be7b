import type { Transport } from './contract.ts';

/**
 * A transport over something that already delivers calls and events (the dispatcher in this process,
 * Electron's preload bridge): it only keeps track of subscriptions so `close` can end them all.
 * Imports nothing but contract types, so the renderer can use it too.
 */
export function createForwardingTransport(
  invoke: Transport['invoke'],
  subscribeToSource: (listener: (event: unknown) => void) => () => void,
): Transport {
  const unsubscribes = new Set<() => void>();
  return {
    invoke,
    subscribe(listener) {
      const off = subscribeToSource(listener);
      unsubscribes.add(off);
      return () => {
        off();
        unsubscribes.delete(off);
      };
    },
    // Both sources deliver events from the moment they exist.
    ready: () => Promise.resolve(),
    close() {
      for (const off of unsubscribes) off();
      unsubscribes.clear();
    },
  };
}

import {
  LakehouseEvent,
  type MethodInput,
  type MethodName,
  type MethodOutput,
  RpcResponse,
  type Transport,
} from '../../../engine/api/contract.ts';
import { LakehouseError } from '../../../engine/api/errors.ts';

export type { Transport } from '../../../engine/api/contract.ts';

/** The input argument of a method: optional when the method needs none (`call('tables.list')`). */
export type InputArgs<M extends MethodName> =
  Record<never, never> extends MethodInput<M> ? [input?: MethodInput<M>] : [input: MethodInput<M>];

/** The UI's one way to the engine, whatever carries it (Electron IPC, HTTP, in-process in tests). */
export interface Client {
  /** Calls a method; rejects with a LakehouseError whose `code` the UI branches on. */
  call<M extends MethodName>(method: M, ...input: InputArgs<M>): Promise<MethodOutput<M>>;
  /** Every event the engine pushes (run progress, run finished); returns the unsubscribe. */
  onEvent(listener: (event: LakehouseEvent) => void): () => void;
  /** Resolves once events flow: subscribe, await this, then start a run to see all of its events. */
  ready(): Promise<void>;
  close(): void;
}

/**
 * Types calls and events by the contract over any transport. Outputs are trusted (the dispatcher has
 * validated them); events are checked here, since some transports cannot tell them from noise.
 */
export function createClient(transport: Transport): Client {
  const listeners = new Set<(event: LakehouseEvent) => void>();
  let unsubscribe: (() => void) | undefined;
  const subscribeTransport = () => {
    unsubscribe ??= transport.subscribe((raw) => {
      const parsed = LakehouseEvent.safeParse(raw);
      if (!parsed.success) return;
      for (const listener of [...listeners]) listener(parsed.data);
    });
  };
  return {
    async call(method, ...[input]) {
      let raw: unknown;
      try {
        raw = await transport.invoke(method, input ?? {});
      } catch (error) {
        // The transport itself failed (no reply at all): in browser mode, the server process is gone.
        const cause = error instanceof Error ? error.message : String(error);
        throw new LakehouseError(
          'SERVER_UNREACHABLE',
          `The app's server stopped or cannot be reached (${method}: ${cause}). Start it again ` +
            '(`lakehouse app`, or `npm start` in the app folder), then reload this page.',
          { method, transport: true },
        );
      }
      const reply = RpcResponse.safeParse(raw);
      if (!reply.success) {
        throw new LakehouseError('INTERNAL', `The engine sent a malformed reply to ${method}`, { method });
      }
      if (!reply.data.ok) {
        const { code, message, details } = reply.data.error;
        throw new LakehouseError(code, message, details);
      }
      return reply.data.value as MethodOutput<typeof method>;
    },
    onEvent(listener) {
      listeners.add(listener);
      subscribeTransport();
      return () => {
        listeners.delete(listener);
      };
    },
    ready() {
      subscribeTransport();
      return transport.ready();
    },
    close() {
      unsubscribe?.();
      unsubscribe = undefined;
      listeners.clear();
      transport.close();
    },
  };
}

import { describe, expect, it } from 'vitest';
import type { Transport } from '../../engine/api/contract.ts';
import { LakehouseError } from '../../engine/api/errors.ts';
import { createClient } from '../../renderer/src/api/client.ts';

// A call whose transport fails outright (the browser's fetch to a server that has stopped) is told apart
// from an engine error, and says what to do.
describe('the client when the app server is gone', () => {
  it('rejects with SERVER_UNREACHABLE, naming the call and how to get the app back', async () => {
    const transport: Transport = {
      invoke: () => Promise.reject(new TypeError('Failed to fetch')),
      subscribe: () => () => undefined,
      ready: () => Promise.resolve(),
      close: () => undefined,
    };
    const rejection = await createClient(transport)
      .call('tables.list')
      .catch((error: unknown) => error);
    expect(rejection).toBeInstanceOf(LakehouseError);
    expect(rejection).toMatchObject({ code: 'SERVER_UNREACHABLE', details: { method: 'tables.list' } });
    const { message } = rejection as LakehouseError;
    expect(message).toContain("The app's server stopped or cannot be reached (tables.list: Failed to fetch)");
    expect(message).toContain('`lakehouse app`');
    expect(message).toContain('then reload this page');
  });
});

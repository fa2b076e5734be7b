import { describe, expect, it } from 'vitest';
import { openDb } from '../../engine/db/duckdb.ts';

// Seconds of work: a close that waited for it to end, rather than stopping it, fails the time check.
const SLOW = 'SELECT count(*) FROM range(2000000000) t(i) WHERE i % 7 = $1';

/** How a statement ended, or 'still running' after `ms`. */
function settledWithin(statement: Promise<unknown>, ms: number): Promise<string> {
  return Promise.race([
    statement.then(
      () => 'resolved',
      (error: Error) => `rejected: ${error.message}`,
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve('still running'), ms).unref()),
  ]);
}

describe('closing a Db while a statement runs on it', () => {
  it('stops the statement, then closes: nothing hangs (Ctrl-C on serve during an export never exited)', async () => {
    const db = await openDb(':memory:', { threads: 2 });
    const running = db.scalar(SLOW, [0]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    db.close();
    expect(await settledWithin(running, 5000)).toMatch(/^rejected: .*Interrupt/i);
    await expect(db.run('SELECT 1')).rejects.toThrow(/closed/);
  }, 20_000);

  it('closes a reading fork and then its owner, as the engine does, while the fork reads', async () => {
    const owner = await openDb(':memory:', { threads: 2 });
    const reader = await owner.fork();
    const running = reader.all(SLOW.replace('$1', '0'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    reader.close();
    owner.close();
    expect(await settledWithin(running, 5000)).toMatch(/^rejected: .*Interrupt/i);
  }, 20_000);
});

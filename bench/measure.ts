// What the benchmarks share: a worker script run in a process of its own (a clean peak RSS, and another
// checkout's engine when comparing two), and medians of alternating rounds.
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/**
 * Runs `bench/<script>` of `checkout` (this one by default) with its TypeScript loader and returns the
 * JSON of the last line it prints.
 */
export function runWorker<T>(script: string, args: string[], checkout = ROOT): T {
  const out = execFileSync(
    process.execPath,
    [join(checkout, 'bin', 'run-ts.js'), join(checkout, 'bench', script), ...args],
    { cwd: checkout, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as T;
}

/** The middle value (the upper one of the two middle ones for an even count). */
export function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
}

/**
 * Runs statements on `db` and adds each one's wall time to `ms` under the name it is given: what a
 * benchmark worker reports per output or step.
 */
export function statementTimer(db: { run(sql: string): Promise<unknown> }) {
  const ms: Record<string, number> = {};
  return {
    ms,
    async run(name: string, sql: string): Promise<void> {
      const started = performance.now();
      await db.run(sql);
      ms[name] = (ms[name] ?? 0) + performance.now() - started;
    },
  };
}

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from './project.ts';

// Which files reach the disk before a commit names them is invisible to the command itself (a power cut
// would show it): strace shows it from the order of a real command's system calls.

/** Whether strace runs here (.ci/run installs it). */
export const hasStrace = spawnSync('strace', ['-V']).status === 0;

/**
 * Runs `lakehouse <args>` under strace, writing the `calls` (e.g. fsync, rename) of every thread to `log`,
 * each file descriptor shown with its path (`fsync(21</path>) = 0`).
 */
export function lakehouseTraced(log: string, calls: string[], args: string[]) {
  return spawnSync(
    'strace',
    [
      ...['-f', '-y', '-qq', '-e', 'signal=none', '-e', `trace=${calls.join(',')}`, '-o', log],
      ...[process.execPath, join(PROJECT_ROOT, 'bin', 'lakehouse.js'), ...args],
    ],
    { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 120_000 },
  );
}

/**
 * The calls of a `strace -f` log as whole lines, in the order they returned. A call that another thread's
 * call interrupts in the log is split in two (`12 fsync(3</a> <unfinished ...>` ... `12 <... fsync
 * resumed>) = 0`), which happens more the busier the machine: the halves are joined by thread id.
 */
export function completedCalls(log: string): string[] {
  const pending = new Map<string, string>();
  const calls: string[] = [];
  for (const line of log.split('\n')) {
    const unfinished = /^(\d+)\s+(.*) <unfinished \.\.\.>$/.exec(line);
    if (unfinished) {
      pending.set(unfinished[1]!, unfinished[2]!);
      continue;
    }
    const resumed = /^(\d+)\s+<\.\.\. \w+ resumed>(.*)$/.exec(line);
    if (resumed) {
      calls.push(`${resumed[1]} ${pending.get(resumed[1]!) ?? ''}${resumed[2]}`);
      pending.delete(resumed[1]!);
      continue;
    }
    if (line !== '') calls.push(line);
  }
  return calls;
}

/** The path of a successful fsync or fdatasync in a line of such a log, if it is one. */
export function syncedPath(line: string): string | undefined {
  return /\b(?:fsync|fdatasync)\(\d+<(.+)>\)\s+= 0/.exec(line)?.[1];
}

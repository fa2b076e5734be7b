import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/project.ts';

/**
 * A fixture of test/cli/fixtures started as the CLI starts, once it has printed that it is working: its
 * stderr so far, and its exit code when it ends.
 */
async function startFixture(name: string) {
  const child = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'bin', 'run-ts.js'), join(PROJECT_ROOT, 'test', 'cli', 'fixtures', name)],
    { cwd: PROJECT_ROOT },
  );
  const output = { stderr: '' };
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (status) => resolve(status)));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return { child, output, exited };
}

// The first Ctrl-C or SIGTERM asks the command to stop; a second, when it has not, ends the process.
describe('stop signals', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)('a second %s exits at once when the work does not stop for the first', async (signal, code) => {
    const { child, output, exited } = await startFixture('ignores-cancel.ts');
    child.kill(signal);
    await new Promise<void>((resolve) => child.stderr.once('data', () => resolve()));
    expect(output.stderr).toContain('Cancelling ...');
    child.kill(signal);
    expect(await exited).toBe(code);
  });

  // A script tells a cancel from a failure (exit 1) by the code: 128 + the signal's number, as shells say.
  it.each([
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const)(
    'a %s cancel that ends in RUN_CANCELLED, as publish ends one, exits %i',
    async (signal, code) => {
      const { child, output, exited } = await startFixture('cancels-with-error.ts');
      child.kill(signal);
      expect(await exited).toBe(code);
      expect(output.stderr).toBe(
        '\nCancelling ...\nerror [RUN_CANCELLED]: Publish cancelled: nothing was changed.\n',
      );
    },
  );
});

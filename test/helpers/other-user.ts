import { execFileSync } from 'node:child_process';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from './project.ts';

/** Whether the tests run as root, who reads through any permission: a check of a denied read runs as nobody. */
const asRoot = process.getuid?.() === 0;

/**
 * Runs the TypeScript file `script` with bin/run-ts.js, as user nobody when the tests run as root, and
 * returns what its last line of output holds as JSON. `work` (the temp folder holding the script and the
 * project) and its `readable` files are opened to every user first, and nobody gets a home folder there.
 */
export async function lastJsonLineAsOtherUser<T>(
  work: string,
  script: string,
  readable: string[],
): Promise<T> {
  await chmod(work, 0o755);
  for (const file of readable) await chmod(join(work, file), 0o644);
  await mkdir(join(work, 'home'), { mode: 0o777 });
  const node = [process.execPath, join(PROJECT_ROOT, 'bin', 'run-ts.js'), script];
  const [command, ...args] = asRoot ? ['runuser', '-u', 'nobody', '--', ...node] : node;
  const stdout = execFileSync(command as string, args, {
    encoding: 'utf8',
    env: { ...process.env, HOME: join(work, 'home') },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as T;
}

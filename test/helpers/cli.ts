import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT } from './project.ts';

const BIN = join(PROJECT_ROOT, 'bin', 'lakehouse.js');

/** Runs `lakehouse <args>` in a child process from the repo root and returns its exit code and output. */
export function lakehouse(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `lakehouse <args>` without blocking this process, for tests whose S3 server runs in it. */
export function lakehouseAsync(
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return lakehouseAsyncIn(process.env, args);
}

/** {@link lakehouseAsync} with the environment the command gets (credentials, endpoints). */
export function lakehouseAsyncIn(
  env: NodeJS.ProcessEnv,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return nodeAsync([BIN, ...args], env);
}

/** Node running `args` from the project root without blocking this process; its exit code and output. */
export function nodeAsync(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { initProject } from '../../engine/project/init.ts';

export const PROJECT_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
/** The reference data shared beside the project (absent on a plain clone: tests that need it skip). */
export const SHARED_DATA = resolve(PROJECT_ROOT, '..', 'shared', 'data');
export const REAL_SOURCE = join(SHARED_DATA, 'customer_search_log_data');
export const HAS_SHARED_DATA = existsSync(join(REAL_SOURCE, '20220601'));
export const SHARED_SKIP_REASON = `../shared/data not found at ${SHARED_DATA}: tests on the real sample are skipped`;

export async function tempDir(prefix = 'lakehouse-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Creates the customer-search example project in a temp dir over the given source and catalog. */
export async function exampleProject(source: string, catalog?: string): Promise<string> {
  const dir = await tempDir();
  await initProject({ dir, example: 'customer-search', source, catalog });
  return dir;
}

export async function withEngine<T>(
  dir: string,
  fn: (engine: Engine) => Promise<T>,
  readOnly = false,
): Promise<T> {
  const engine = await createEngine({ projectDir: dir, readOnly });
  try {
    return await fn(engine);
  } finally {
    engine.close();
  }
}

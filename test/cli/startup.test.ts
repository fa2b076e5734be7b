import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakehouse, lakehouseAsyncIn } from '../helpers/cli.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// A project on local disk never calls AWS, so its commands do not load the AWS SDK (about 0.1-0.2 s of
// each start). A preloaded script lists, as the process exits, the SDK modules it loaded: the SDK's
// packages are CommonJS, so imported or required they enter require.cache.

const HOOK = `process.on('exit', () => {
  const loaded = Object.keys(require.cache).filter((path) => path.includes('/@aws-sdk/'));
  process.stderr.write('aws-sdk modules loaded: ' + loaded.length + '\\n');
});
`;

let work: string;
let hook: string;
let project: string;

beforeAll(async () => {
  work = await tempDir('lakehouse-startup-');
  hook = join(work, 'list-aws-sdk.cjs');
  await writeFile(hook, HOOK);
  project = join(work, 'local');
  const init = lakehouse('init', project, '--example', 'customer-search');
  expect(init.code, init.stderr).toBe(0);
});

afterAll(() => removeDir(work));

/** How many AWS SDK modules a process loaded, from the line the preloaded hook wrote to its stderr. */
const reportedCount = (stderr: string) => Number(/aws-sdk modules loaded: (\d+)/.exec(stderr)?.[1]);

/** How many AWS SDK modules the command loaded, as the preloaded hook reports it. */
async function sdkModulesLoadedBy(args: string[]): Promise<number> {
  const env = { ...process.env, NODE_OPTIONS: `--require ${hook}` };
  const result = await lakehouseAsyncIn(env, args);
  expect(result.code, result.stderr).toBe(0);
  return reportedCount(result.stderr);
}

describe('a local project', () => {
  it('runs, lists and queries without loading the AWS SDK', async () => {
    // The hook sees the SDK when something loads it.
    const control = spawnSync(process.execPath, ['--require', hook, '-e', "require('@aws-sdk/client-s3')"], {
      encoding: 'utf8',
    });
    expect(reportedCount(control.stderr)).toBeGreaterThan(0);

    expect(await sdkModulesLoadedBy(['run', project, '--date', '2022-06-01'])).toBe(0);
    expect(await sdkModulesLoadedBy(['tables', project])).toBe(0);
    expect(
      await sdkModulesLoadedBy(['query', project, 'SELECT count(*) AS n FROM fact_customer_search']),
    ).toBe(0);
  });
});

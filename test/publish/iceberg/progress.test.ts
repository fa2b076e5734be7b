import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../engine/engine.ts';
import { createEngine } from '../../../engine/engine.ts';
import { openTarget, publishIceberg } from '../../../engine/publish/iceberg/publish.ts';
import { generatedProject, removeDir, tempDir } from '../../helpers/project.ts';

let work: string;
let engine: Engine;

beforeAll(async () => {
  work = await tempDir('iceberg-progress-');
  const project = await generatedProject(work, 1, 200);
  engine = await createEngine({ projectDir: project.dir });
  await engine.run({ dates: project.dates });
}, 120_000);

afterAll(async () => {
  engine?.close();
  await removeDir(work);
});

describe('the progress of an Iceberg publish', () => {
  it('says when a table is committed and read back, not only that it is being written', async () => {
    const target = await openTarget(engine.project, { warehouse: join(work, 'warehouse') });
    const messages: string[] = [];
    await publishIceberg(engine, target, {
      tables: ['dim_platform'],
      onProgress: ({ message }) => messages.push(message),
    });
    expect(messages).toEqual([
      'dim_platform: comparing with the published table',
      expect.stringMatching(/^dim_platform: writing \d+ rows \(create\)$/),
      'dim_platform: committed; reading it back to check rows and keys',
      expect.stringMatching(/^dim_platform: create, \d+ rows reconciled$/),
    ]);
  }, 120_000);
});

describe('a cancelled Iceberg publish', () => {
  it('names the tables it found up to date apart from those it committed', async () => {
    const target = await openTarget(engine.project, { warehouse: join(work, 'cancelled') });
    await publishIceberg(engine, target, { tables: ['dim_platform'] });
    const controller = new AbortController();
    let commits = 0;
    const cancelled = await publishIceberg(engine, target, {
      signal: controller.signal,
      // dim_category, dim_date and dim_network commit; dim_platform is equal; cancelled at the next.
      beforeCommit: async () => {
        commits += 1;
        if (commits === 4) controller.abort();
      },
    }).catch((error: unknown) => error);
    expect(cancelled).toMatchObject({
      code: 'RUN_CANCELLED',
      message: `The Iceberg publish to ${target.catalog.description} was cancelled: dim_category, dim_date, dim_network had been published (each table commits on its own); dim_platform was already up to date, nothing written; no rows of dim_subscription or the tables after it were committed.`,
      details: {
        published: ['dim_category', 'dim_date', 'dim_network'],
        unchanged: ['dim_platform'],
        table: 'dim_subscription',
      },
    });
  }, 120_000);
});

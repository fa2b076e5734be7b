import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../../engine/engine.ts';
import { createEngine } from '../../../engine/engine.ts';
import { openTarget, publishIceberg } from '../../../engine/publish/iceberg/publish.ts';
import { generatedProject, removeDir, tempDir } from '../../helpers/project.ts';

let work: string;
let engine: Engine;

beforeAll(async () => {
  work = await tempDir('iceberg-schema-conflict-');
  const project = await generatedProject(work, 1, 200);
  engine = await createEngine({ projectDir: project.dir });
  await engine.run({ dates: project.dates });
}, 120_000);

afterAll(async () => {
  engine?.close();
  await removeDir(work);
});

describe('a column type Iceberg cannot take', () => {
  it('refuses the publish before any table commits, not after the tables before it', async () => {
    const target = await openTarget(engine.project, { warehouse: join(work, 'warehouse') });
    await publishIceberg(engine, target);
    const snapshots = async (table: string) =>
      (await target.catalog.load('gold', table))?.metadata.snapshots?.length ?? 0;
    // dim_date (published early) gains a column; bridge_user_plan (published later) changes a type.
    await engine.db.run('ALTER TABLE gold.dim_date ADD COLUMN day_of_year INTEGER DEFAULT 1');
    await engine.db.run('ALTER TABLE gold.bridge_user_plan ALTER is_effective TYPE VARCHAR');
    const before = await snapshots('dim_date');

    const refused = await publishIceberg(engine, target).catch((error: unknown) => error);
    expect(refused).toMatchObject({
      code: 'PUBLISH_CONFLICT',
      details: { table: 'bridge_user_plan', column: 'is_effective', from: 'int', to: 'string' },
    });
    expect(await snapshots('dim_date')).toBe(before);
  }, 120_000);
});

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { createPartitionStore } from '../../engine/lake/partitions.ts';
import type {
  MaterializeContext,
  Materializer,
  StageStorage,
} from '../../engine/materializations/context.ts';
import { writeStage } from '../../engine/materializations/stage.ts';
import { parseModelFile } from '../../engine/project/models.ts';
import { ensureWarehouseSchema } from '../../engine/warehouse/metadata.ts';

/**
 * Drives one materializer over a sequence of dates, the way the runner does, with each date's input
 * given as SQL. Keeps the committed-date list so history models can replay.
 */
export async function createHarness(header: string, layer: 'silver' | 'gold' = 'gold', name = 'model') {
  const db: Db = await openDb();
  await ensureWarehouseSchema(db);
  const inputs = new Map<string, string>();
  const model = parseModelFile(`models/${layer}/${name}.sql`, `/* config\n${header}\n*/\nSELECT 1`, layer);
  const committed: string[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'lakehouse-stage-test-'));
  let stagedAs: StageStorage = 'table';
  const restage = async (date: string, storage: StageStorage = 'table') => {
    const sql = inputs.get(date);
    if (!sql) throw new Error(`no input for ${date}`);
    const staged = await writeStage(db, '__stage', sql, storage, scratch);
    stagedAs = staged.storage;
    return staged;
  };
  const replaceStage = async (sql: string) => {
    stagedAs = (await writeStage(db, '__stage', sql, stagedAs, scratch)).storage;
  };
  return {
    db,
    model,
    async apply(materializer: Materializer, date: string, sql: string) {
      inputs.set(date, sql);
      await restage(date);
      const ctx: MaterializeContext = {
        db,
        model,
        etlDate: date,
        runId: '(outside a run)',
        stage: '__stage',
        target: `"${layer}"."${name}"`,
        partitions: createPartitionStore(db, '/nonexistent-lake', 'test'),
        titleIndexes: new Map(),
        catalogs: new Map(),
        restage,
        replaceStage,
        committedDates: [...committed],
        runDates: [date],
      };
      const outcome = await materializer(ctx);
      if (!committed.includes(date)) committed.push(date);
      committed.sort();
      return outcome;
    },
    /** Changes a committed date's input, as a corrected model or source would, for a later replay. */
    setInput(date: string, sql: string) {
      inputs.set(date, sql);
    },
    rows(sql: string) {
      return db.all(sql);
    },
    close: async () => {
      db.close();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

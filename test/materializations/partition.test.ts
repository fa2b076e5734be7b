import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LakehouseError } from '../../engine/api/errors.ts';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { createPartitionStore } from '../../engine/lake/partitions.ts';
import type { MaterializeContext } from '../../engine/materializations/context.ts';
import { materializePartition } from '../../engine/materializations/partition.ts';
import { writeStage } from '../../engine/materializations/stage.ts';
import { parseModelFile } from '../../engine/project/models.ts';
import { runDataTests } from '../../engine/quality/data-tests.ts';
import { ensureWarehouseSchema } from '../../engine/warehouse/metadata.ts';

// Two exact repeats of id 1, two versions of id 2 (the lower row text wins), one row to quarantine.
const ROWS = `(VALUES (1, 'a', NULL), (1, 'a', NULL), (2, 'c', NULL), (2, 'b', NULL), (3, 'x', 'id_rejected'))`;
const WITH_REASON = `SELECT id, v, reason AS _quarantine_reason FROM ${ROWS} AS t(id, v, reason)`;
const WITHOUT_REASON = `SELECT id, v FROM ${ROWS} AS t(id, v, reason)`;
const DEDUPE = 'deduplicate:\n  key: id';

describe('partition materialization', () => {
  let db: Db | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    db?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /**
   * Each day's SQL materialized in turn into one lake, each date with the ones before it committed; `kept`
   * holds the written partition's `columns`.
   */
  async function materializeDays(header: string, days: [string, string][], columns = 'id, v') {
    db = await openDb();
    await ensureWarehouseSchema(db);
    dir = await mkdtemp(join(tmpdir(), 'lakehouse-partition-'));
    const partitions = createPartitionStore(db, join(dir, 'lake'), 'run1');
    const written = [];
    for (const [i, [etlDate, sql]] of days.entries()) {
      const model = parseModelFile(
        'models/silver/events.sql',
        `/* config\nmaterialized: partition\n${header}\n*/\n${sql}`,
        'silver',
      );
      const ctx: MaterializeContext = {
        db,
        model,
        etlDate,
        runId: 'run1',
        stage: '__stage',
        target: '"silver"."events"',
        partitions,
        titleIndexes: new Map(),
        catalogs: new Map(),
        restage: (_date: string, storage: 'table' | 'parquet' = 'table') =>
          writeStage(db!, '__stage', model.sql, storage, join(dir!, 'stage')),
        replaceStage: async () => undefined,
        committedDates: days.slice(0, i).map(([d]) => d),
        runDates: [etlDate],
      };
      const outcome = await materializePartition(ctx);
      const kept = await db.all(`SELECT ${columns} FROM ${outcome.testRelation} ORDER BY ALL`);
      written.push({ outcome, kept, model });
    }
    return written;
  }

  /** One date, 2022-06-01, on an empty lake. */
  async function materialize(header: string, sql: string) {
    const [day] = await materializeDays(header, [['2022-06-01', sql]]);
    return day!;
  }

  it('quarantines the rows with a reason and keeps repeats without deduplicate', async () => {
    const { outcome, kept } = await materialize('', WITH_REASON);
    expect(outcome).toMatchObject({ rowsIn: 5, rowsOut: 4, quarantined: 1, duplicatesRemoved: 0 });
    expect(outcome.uniqueKeys).toBeUndefined();
    expect(kept).toEqual([
      { id: 1, v: 'a' },
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
      { id: 2, v: 'c' },
    ]);
  });

  it('drops repeats of the key, keeping the lowest row, with no quarantine column', async () => {
    const { outcome, kept } = await materialize(DEDUPE, WITHOUT_REASON);
    expect(outcome).toMatchObject({ rowsIn: 5, rowsOut: 3, quarantined: 0, duplicatesRemoved: 2 });
    // Deduplicated: a unique test on the key has nothing left to find.
    expect(outcome.uniqueKeys).toEqual(['id']);
    expect(kept).toEqual([
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
      { id: 3, v: 'x' },
    ]);
  });

  it('does both, and accounts for every staged row', async () => {
    const { outcome, kept } = await materialize(DEDUPE, WITH_REASON);
    expect(outcome).toMatchObject({ rowsIn: 5, rowsOut: 2, quarantined: 1, duplicatesRemoved: 2 });
    expect(kept).toEqual([
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
    ]);
  });

  // The repeat search leaves rows with a NULL key alone, and a unique test skips them (as dbt's does).
  it('claims the deduplicated key unique with rows of a NULL key kept, as the unique test finds it', async () => {
    const { outcome, kept, model } = await materialize(
      `${DEDUPE}\ntests:\n  - unique: id`,
      `SELECT * FROM (VALUES (NULL, 'a'), (NULL, 'b'), (4, 'd'), (4, 'e')) t(id, v)`,
    );
    expect(kept).toEqual([
      { id: 4, v: 'd' },
      { id: null, v: 'a' },
      { id: null, v: 'b' },
    ]);
    expect(outcome.uniqueKeys).toEqual(['id']);
    // The claim holds: the test's own query over the written file finds nothing either.
    const [queried] = await runDataTests(db!, model, outcome.testRelation, undefined);
    expect(queried).toMatchObject({ name: 'unique(id)', passed: true, failingRows: 0 });
  });

  // Over several columns, as the unique test: a NULL in part of the key is a value (one row of each kept),
  // and rows whose key is NULL in every column have no key, so none repeats another and all are kept.
  it('claims a deduplicated key of two columns unique with NULL parts, as the unique test finds it', async () => {
    const { outcome, model } = await materialize(
      'deduplicate:\n  key: [id, k]\ntests:\n  - unique: [id, k]',
      `SELECT * FROM (VALUES (NULL, 'a', 'x'), (NULL, 'a', 'y'), (NULL, NULL, 'x'), (NULL, NULL, 'y'),
        (4, NULL, 'x'), (4, NULL, 'y')) t(id, k, v)`,
    );
    expect(outcome).toMatchObject({ rowsIn: 6, rowsOut: 4, duplicatesRemoved: 2, uniqueKeys: ['id', 'k'] });
    expect(await db!.all(`SELECT id, k, v FROM ${outcome.testRelation} ORDER BY ALL`)).toEqual([
      { id: 4, k: null, v: 'x' },
      { id: null, k: 'a', v: 'x' },
      { id: null, k: null, v: 'x' },
      { id: null, k: null, v: 'y' },
    ]);
    const [queried] = await runDataTests(db!, model, outcome.testRelation, undefined);
    expect(queried).toMatchObject({ name: 'unique(id, k)', passed: true, failingRows: 0 });
  });

  // Across dates by the same rule as within one: the repeat search of earlier dates joined on equality,
  // so a key NULL in one of its columns that an earlier date loaded was loaded again.
  it('drops a key of two columns with a NULL part that an earlier date loaded, and keeps keys with none', async () => {
    const day = `SELECT * FROM (VALUES (NULL, 'a', 'x'), (NULL, NULL, 'x'), (5, 'b', 'x')) t(id, k, v)`;
    const [first, second] = await materializeDays(
      'deduplicate:\n  key: [id, k]\n  across_dates: all',
      [
        ['2022-06-01', day],
        ['2022-06-02', day.replace("(5, 'b', 'x')", "(6, 'b', 'x')")],
      ],
      'id, k, v',
    );
    expect(first!.outcome).toMatchObject({ rowsOut: 3, duplicatesRemoved: 0 });
    expect(second!.outcome).toMatchObject({ rowsIn: 3, rowsOut: 2, duplicatesRemoved: 1 });
    expect(second!.kept).toEqual([
      { id: 6, k: 'b', v: 'x' },
      { id: null, k: null, v: 'x' },
    ]);
  });

  // The join of today's keys with earlier ones cast 'u-1' to BIGINT and failed, blamed on the model.
  it("compares a key retyped since earlier dates in today's type, and says so", async () => {
    const [, second] = await materializeDays('deduplicate:\n  key: id\n  across_dates: all', [
      ['2022-06-01', `SELECT * FROM (VALUES (1::BIGINT, 'a'), (2::BIGINT, 'b')) t(id, v)`],
      ['2022-06-02', `SELECT * FROM (VALUES ('2', 'again'), ('u-1', 'new')) t(id, v)`],
    ]);
    expect(second!.outcome).toMatchObject({ rowsIn: 2, rowsOut: 1, duplicatesRemoved: 1 });
    expect(second!.kept).toEqual([{ id: 'u-1', v: 'new' }]);
    expect(second!.outcome.warnings).toContain(
      "deduplicate.key id is VARCHAR, and BIGINT in the dates before: their keys are compared as today's type in the repeat search",
    );
  });

  it('counts a reason naming no rule under a name that says so', async () => {
    const { outcome } = await materialize(
      '',
      `SELECT * FROM (VALUES (1, 'a', ''), (2, 'b', ': 7'), (3, 'c', 'bad: x'), (4, 'd', NULL)) t(id, v, _quarantine_reason)`,
    );
    expect(outcome.warnings).toContain('3 rows quarantined: (no rule named) 2, bad 1');
  });

  it('quarantines by a reason column named in another case', async () => {
    const { outcome, kept } = await materialize(
      '',
      WITH_REASON.replace('_quarantine_reason', '_Quarantine_Reason'),
    );
    expect(outcome).toMatchObject({ rowsIn: 5, rowsOut: 4, quarantined: 1 });
    expect(kept).toHaveLength(4);
    expect(await db!.all('SELECT quarantine_reason, id FROM quarantine.events')).toEqual([
      { quarantine_reason: 'id_rejected', id: 3 },
    ]);
  });

  it('keeps the first row by order_by, with directions and NULLS placement', async () => {
    // DESC keeps the higher v of id 2 ('c'), where the default order keeps 'b'.
    const asString = await materialize(`${DEDUPE}\n  order_by: v DESC NULLS LAST, id`, WITHOUT_REASON);
    expect(asString.model.config.deduplicate?.order_by).toEqual([
      { column: 'v', direction: 'DESC', nulls: 'NULLS LAST' },
      { column: 'id' },
    ]);
    expect(asString.kept).toContainEqual({ id: 2, v: 'c' });
  });

  it('takes order_by as a list, names quoted or in another case, keywords in lower case', async () => {
    const asList = await materialize(`${DEDUPE}\n  order_by: ['"V" desc', ID]`, WITHOUT_REASON);
    expect(asList.outcome).toMatchObject({ rowsOut: 3, duplicatesRemoved: 2 });
    expect(asList.kept).toContainEqual({ id: 2, v: 'c' });
  });

  it('refuses an order_by that is more than columns and keywords, before any SQL runs', async () => {
    const written = join(tmpdir(), `lakehouse-order-by-${process.pid}-${Date.now()}.csv`);
    // Closes the window and the statement, writes a file, then opens a statement the rest completes.
    const injected =
      `v) > 1) SELECT 42 AS pwned) TO '${written}' (FORMAT csv); ` +
      'COPY (WITH __kept AS (SELECT 1 AS __row), __repeats AS (SELECT 1 AS __row WHERE 1 IN (1';
    const error = await materialize(`${DEDUPE}\n  order_by: "${injected}"`, WITHOUT_REASON).catch((e) => e);
    const wroteFile = existsSync(written);
    await rm(written, { force: true });
    expect(wroteFile).toBe(false);
    expect(error).toBeInstanceOf(LakehouseError);
    expect(error).toMatchObject({ code: 'MODEL_INVALID' });
    expect(error.message).toContain('models/silver/events.sql');
    expect(error.message).toMatch(/deduplicate\.order_by: "v\) > 1\) SELECT 42 .*" is not an order item/);
  });

  it("refuses an order_by column the model does not output, naming the file and the model's columns", async () => {
    const error = await materialize(`${DEDUPE}\n  order_by: v, missing DESC`, WITHOUT_REASON).catch((e) => e);
    expect(error).toBeInstanceOf(LakehouseError);
    expect(error).toMatchObject({
      code: 'MODEL_INVALID',
      details: { file: 'models/silver/events.sql', field: 'deduplicate.order_by', column: 'missing' },
    });
    expect(error.message).toBe(
      'models/silver/events.sql: deduplicate.order_by names "missing", which the model does not output. ' +
        'Order by its output columns: id, v.',
    );
  });
});

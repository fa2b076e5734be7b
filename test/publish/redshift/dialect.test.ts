import { describe, expect, it } from 'vitest';
import type { GoldColumn, GoldTable } from '../../../engine/publish/gold-tables.ts';
import { postgresDialect, redshiftDialect } from '../../../engine/publish/redshift/dialect.ts';
import {
  constraintColumns,
  planDistribution,
  planPublish,
  type TargetState,
} from '../../../engine/publish/redshift/plan.ts';
import { compareTypes, targetType, varcharBytes } from '../../../engine/publish/redshift/types.ts';

// The SQL each dialect generates, statement by statement: Redshift-only options (DISTSTYLE, DISTKEY,
// SORTKEY, COPY from S3) must appear for Redshift and never for PostgreSQL, which rejects them.

const col = (name: string, duckdbType: string, maxBytes: number | null = null): GoldColumn => ({
  name,
  duckdbType,
  nullable: true,
  maxBytes,
});

function table(partial: Partial<GoldTable> & Pick<GoldTable, 'name' | 'columns'>): GoldTable {
  return {
    modelId: `gold.${partial.name}`,
    materialized: 'scd1',
    role: 'dimension',
    uniqueKey: [],
    surrogateKey: null,
    primaryKey: [],
    keySource: 'unique_key',
    dateKey: null,
    relationships: [],
    rowCount: 10,
    keyChecksum: '0',
    nullKeyRows: 0,
    ...partial,
  };
}

const dimDate = table({
  name: 'dim_date',
  materialized: 'table',
  primaryKey: ['date_key'],
  keySource: 'unique_test',
  rowCount: 365,
  columns: [col('date_key', 'INTEGER'), col('date', 'DATE'), col('is_weekend', 'BOOLEAN')],
});
const dimUser = table({
  name: 'dim_user',
  uniqueKey: ['user_id'],
  primaryKey: ['user_id'],
  rowCount: 2_000_000,
  columns: [col('user_id', 'VARCHAR', 11), col('first_search_dt', 'TIMESTAMP')],
});
const dimPlatform = table({
  name: 'dim_platform',
  uniqueKey: ['platform'],
  surrogateKey: 'platform_key',
  primaryKey: ['platform_key'],
  keySource: 'surrogate_key',
  rowCount: 20,
  columns: [col('platform_key', 'BIGINT'), col('platform', 'VARCHAR', 40)],
});
const bridge = table({
  name: 'bridge_user_plan',
  materialized: 'bridge',
  role: 'bridge',
  surrogateKey: 'user_plan_key',
  primaryKey: ['user_plan_key'],
  keySource: 'surrogate_key',
  relationships: [{ column: 'user_id', toTable: 'dim_user', toColumn: 'user_id' }],
  columns: [col('user_plan_key', 'BIGINT'), col('user_id', 'VARCHAR', 11)],
});
const fact = table({
  name: 'fact_customer_search',
  materialized: 'append',
  role: 'fact',
  uniqueKey: ['event_id'],
  primaryKey: ['event_id'],
  dateKey: 'date_key',
  rowCount: 30_000_000,
  relationships: [
    { column: 'date_key', toTable: 'dim_date', toColumn: 'date_key' },
    { column: 'user_id', toTable: 'dim_user', toColumn: 'user_id' },
    { column: 'platform_key', toTable: 'dim_platform', toColumn: 'platform_key' },
  ],
  columns: [
    col('event_id', 'VARCHAR', 36),
    col('datetime_log', 'TIMESTAMP'),
    col('date_key', 'INTEGER'),
    col('user_id', 'VARCHAR', 11),
    col('platform_key', 'BIGINT'),
    col('score', 'DECIMAL(9,4)'),
  ],
});
const star = [dimDate, dimPlatform, dimUser, bridge, fact];
const empty: TargetState = { schemaExists: false, tables: new Map(), foreignKeys: [], keys: [] };
/** The primary keys a first publish declares on these tables. */
const keysOf = (tables: GoldTable[]): TargetState['keys'] =>
  tables.map((t) => ({ name: `${t.name}_pkey`, table: t.name, primary: true, columns: t.primaryKey }));

describe('type mapping', () => {
  it.each([
    ['BOOLEAN', null, 'BOOLEAN'],
    ['TINYINT', null, 'SMALLINT'],
    ['UTINYINT', null, 'SMALLINT'],
    ['USMALLINT', null, 'INTEGER'],
    ['UINTEGER', null, 'BIGINT'],
    ['UBIGINT', null, 'DECIMAL(20,0)'],
    ['HUGEINT', null, 'DECIMAL(38,0)'],
    ['DECIMAL(18,3)', null, 'DECIMAL(18,3)'],
    ['DOUBLE', null, 'DOUBLE PRECISION'],
    ['FLOAT', null, 'REAL'],
    ['TIMESTAMP', null, 'TIMESTAMP'],
    ['TIMESTAMP_NS', null, 'TIMESTAMP'],
    ['TIMESTAMP WITH TIME ZONE', null, 'TIMESTAMPTZ'],
    ['DATE', null, 'DATE'],
    ['VARCHAR', 0, 'VARCHAR(16)'],
    ['VARCHAR', 17, 'VARCHAR(32)'],
    // 20 Vietnamese characters of 3 bytes each: sized in bytes, as Redshift counts them.
    ['VARCHAR', 60, 'VARCHAR(64)'],
    ['VARCHAR', 65_535, 'VARCHAR(65535)'],
    ['VARCHAR[]', 100, 'VARCHAR(128)'],
  ])('%s (max %s bytes) → %s', (duckdbType, maxBytes, expected) => {
    expect(targetType('t', col('c', duckdbType, maxBytes))).toBe(expected);
  });

  it('refuses values longer than Redshift VARCHAR and types it has no column for, naming the column', () => {
    expect(() => targetType('dim_x', col('notes', 'VARCHAR', 70_000))).toThrow(
      /gold\.dim_x\.notes .*70000 bytes/,
    );
    expect(() => targetType('dim_x', col('raw', 'BLOB'))).toThrow(
      /gold\.dim_x\.raw \(BLOB\): no Redshift type/,
    );
  });

  it('sizes VARCHAR to the next power of two and compares existing columns', () => {
    expect([1, 16, 17, 1000, 40_000, 65_535].map(varcharBytes)).toEqual([16, 16, 32, 1024, 65_535, 65_535]);
    expect(compareTypes('VARCHAR(64)', 'VARCHAR(32)')).toEqual({ kind: 'same' });
    expect(compareTypes('VARCHAR', 'VARCHAR(32)')).toEqual({ kind: 'same' });
    expect(compareTypes('VARCHAR(16)', 'VARCHAR(32)')).toEqual({ kind: 'widen', to: 'VARCHAR(32)' });
    // Numbers widen along their ladder, as a model may widen a gold column; a wider target takes them.
    expect(compareTypes('INTEGER', 'BIGINT')).toEqual({ kind: 'widen', to: 'BIGINT' });
    expect(compareTypes('SMALLINT', 'INTEGER')).toEqual({ kind: 'widen', to: 'INTEGER' });
    expect(compareTypes('REAL', 'DOUBLE PRECISION')).toEqual({ kind: 'widen', to: 'DOUBLE PRECISION' });
    expect(compareTypes('BIGINT', 'INTEGER')).toEqual({ kind: 'same' });
    expect(compareTypes('INTEGER', 'DOUBLE PRECISION')).toEqual({ kind: 'incompatible' });
    expect(compareTypes('BIGINT', 'VARCHAR(16)')).toEqual({ kind: 'incompatible' });
  });
});

describe('star schema physical design', () => {
  it('shares a DISTKEY between the fact and its largest dimension, copies small dimensions, sorts on the date key', () => {
    const design = planDistribution(star);
    expect(design.get('fact_customer_search')).toEqual({
      style: 'KEY',
      distKey: 'user_id',
      sortKey: ['date_key'],
    });
    expect(design.get('dim_user')).toEqual({ style: 'KEY', distKey: 'user_id', sortKey: [] });
    // The bridge joins dim_user on the same key: co-located with it.
    expect(design.get('bridge_user_plan')).toEqual({ style: 'KEY', distKey: 'user_id', sortKey: [] });
    expect(design.get('dim_platform')).toEqual({ style: 'ALL', sortKey: [] });
    expect(design.get('dim_date')).toEqual({ style: 'ALL', sortKey: ['date_key'] });
  });
});

describe('Redshift DDL and loads, statement by statement', () => {
  const dialect = redshiftDialect();

  it('creates the star on an empty target, keys last', () => {
    const plan = planPublish({ schema: 'gold', dialect, allTables: star, tables: star, target: empty });
    expect(plan.conflicts).toEqual([]);
    const statements = plan.steps.map((s) => (s.kind === 'sql' ? s.sql : `LOAD ${s.table.name}`));
    expect(statements).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "gold"',
      'CREATE TABLE "gold"."dim_date" ("date_key" INTEGER NOT NULL, "date" DATE, "is_weekend" BOOLEAN, PRIMARY KEY ("date_key")) DISTSTYLE ALL SORTKEY ("date_key")',
      'LOAD dim_date',
      'CREATE TABLE "gold"."dim_platform" ("platform_key" BIGINT NOT NULL, "platform" VARCHAR(64), PRIMARY KEY ("platform_key")) DISTSTYLE ALL',
      'LOAD dim_platform',
      'CREATE TABLE "gold"."dim_user" ("user_id" VARCHAR(16) NOT NULL, "first_search_dt" TIMESTAMP, PRIMARY KEY ("user_id")) DISTSTYLE KEY DISTKEY ("user_id")',
      'LOAD dim_user',
      'CREATE TABLE "gold"."bridge_user_plan" ("user_plan_key" BIGINT NOT NULL, "user_id" VARCHAR(16), PRIMARY KEY ("user_plan_key")) DISTSTYLE KEY DISTKEY ("user_id")',
      'LOAD bridge_user_plan',
      'CREATE TABLE "gold"."fact_customer_search" ("event_id" VARCHAR(64) NOT NULL, "datetime_log" TIMESTAMP, "date_key" INTEGER, "user_id" VARCHAR(16), "platform_key" BIGINT, "score" DECIMAL(9,4), PRIMARY KEY ("event_id")) DISTSTYLE KEY DISTKEY ("user_id") SORTKEY ("date_key")',
      'LOAD fact_customer_search',
      'ALTER TABLE "gold"."bridge_user_plan" ADD CONSTRAINT "bridge_user_plan_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "gold"."dim_user" ("user_id")',
      'ALTER TABLE "gold"."fact_customer_search" ADD CONSTRAINT "fact_customer_search_date_key_fkey" FOREIGN KEY ("date_key") REFERENCES "gold"."dim_date" ("date_key")',
      'ALTER TABLE "gold"."fact_customer_search" ADD CONSTRAINT "fact_customer_search_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "gold"."dim_user" ("user_id")',
      'ALTER TABLE "gold"."fact_customer_search" ADD CONSTRAINT "fact_customer_search_platform_key_fkey" FOREIGN KEY ("platform_key") REFERENCES "gold"."dim_platform" ("platform_key")',
    ]);
  });

  it('loads each materialization into an existing target the way it must', () => {
    const existing: TargetState = {
      schemaExists: true,
      tables: new Map(
        star.map((t) => [t.name, t.columns.map((c) => ({ name: c.name, type: targetType(t.name, c) }))]),
      ),
      foreignKeys: [
        {
          name: 'fact_customer_search_date_key_fkey',
          table: 'fact_customer_search',
          refTable: 'dim_date',
          definition: 'FOREIGN KEY (date_key) REFERENCES gold.dim_date(date_key)',
        },
        {
          name: 'fact_customer_search_user_id_fkey',
          table: 'fact_customer_search',
          refTable: 'dim_user',
          definition: 'FOREIGN KEY (user_id) REFERENCES gold.dim_user(user_id)',
        },
      ],
      keys: keysOf(star),
    };
    const plan = planPublish({
      schema: 'gold',
      dialect,
      allTables: star,
      tables: [dimDate, dimUser, bridge, fact],
      target: existing,
    });
    const statements = plan.steps.map((s) =>
      s.kind === 'sql'
        ? s.sql
        : `LOAD ${s.table.name} INTO ${typeof s.into === 'string' ? s.into : s.into.table}`,
    );
    // The schema exists: no CREATE SCHEMA, which a role without CREATE on the database could not run.
    expect(statements).toEqual([
      // table: a new table swapped in; the fact's key to the old one is dropped and declared again.
      'CREATE TABLE "gold"."dim_date__lakehouse_new" ("date_key" INTEGER NOT NULL, "date" DATE, "is_weekend" BOOLEAN, PRIMARY KEY ("date_key")) DISTSTYLE ALL SORTKEY ("date_key")',
      'LOAD dim_date INTO dim_date__lakehouse_new',
      'ALTER TABLE "gold"."fact_customer_search" DROP CONSTRAINT "fact_customer_search_date_key_fkey"',
      'DROP TABLE "gold"."dim_date"',
      'ALTER TABLE "gold"."dim_date__lakehouse_new" RENAME TO "dim_date"',
      // scd1: staged, merged by key.
      'CREATE TEMP TABLE "lakehouse_stage_dim_user" (LIKE "gold"."dim_user")',
      'LOAD dim_user INTO lakehouse_stage_dim_user',
      'MERGE INTO "gold"."dim_user" USING "lakehouse_stage_dim_user" AS s ON "gold"."dim_user"."user_id" = s."user_id" WHEN MATCHED THEN UPDATE SET "first_search_dt" = s."first_search_dt" WHEN NOT MATCHED THEN INSERT ("user_id", "first_search_dt") VALUES (s."user_id", s."first_search_dt")',
      // bridge: merged; its rows gone locally are deleted below, as dim_user's, so both match exactly.
      'CREATE TEMP TABLE "lakehouse_stage_bridge_user_plan" (LIKE "gold"."bridge_user_plan")',
      'LOAD bridge_user_plan INTO lakehouse_stage_bridge_user_plan',
      'MERGE INTO "gold"."bridge_user_plan" USING "lakehouse_stage_bridge_user_plan" AS s ON "gold"."bridge_user_plan"."user_plan_key" = s."user_plan_key" WHEN MATCHED THEN UPDATE SET "user_id" = s."user_id" WHEN NOT MATCHED THEN INSERT ("user_plan_key", "user_id") VALUES (s."user_plan_key", s."user_id")',
      // append: the staged dates and keys replace what the target has, never duplicated.
      'CREATE TEMP TABLE "lakehouse_stage_fact_customer_search" (LIKE "gold"."fact_customer_search")',
      'LOAD fact_customer_search INTO lakehouse_stage_fact_customer_search',
      'DELETE FROM "gold"."fact_customer_search" WHERE "date_key" IN (SELECT DISTINCT "date_key" FROM "lakehouse_stage_fact_customer_search")',
      'DELETE FROM "gold"."fact_customer_search" USING "lakehouse_stage_fact_customer_search" AS s WHERE "gold"."fact_customer_search"."event_id" = s."event_id"',
      'INSERT INTO "gold"."fact_customer_search" ("event_id", "datetime_log", "date_key", "user_id", "platform_key", "score") SELECT "event_id", "datetime_log", "date_key", "user_id", "platform_key", "score" FROM "lakehouse_stage_fact_customer_search"',
      'DROP TABLE "lakehouse_stage_fact_customer_search"',
      // Rows gone locally, once every table is loaded, referencing tables first: no foreign key trips.
      'DELETE FROM "gold"."bridge_user_plan" WHERE NOT EXISTS (SELECT 1 FROM "lakehouse_stage_bridge_user_plan" AS s WHERE "gold"."bridge_user_plan"."user_plan_key" = s."user_plan_key")',
      'DROP TABLE "lakehouse_stage_bridge_user_plan"',
      'DELETE FROM "gold"."dim_user" WHERE NOT EXISTS (SELECT 1 FROM "lakehouse_stage_dim_user" AS s WHERE "gold"."dim_user"."user_id" = s."user_id")',
      'DROP TABLE "lakehouse_stage_dim_user"',
      'ALTER TABLE "gold"."bridge_user_plan" ADD CONSTRAINT "bridge_user_plan_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "gold"."dim_user" ("user_id")',
      'ALTER TABLE "gold"."fact_customer_search" ADD CONSTRAINT "fact_customer_search_date_key_fkey" FOREIGN KEY ("date_key") REFERENCES "gold"."dim_date" ("date_key")',
      'ALTER TABLE "gold"."fact_customer_search" ADD CONSTRAINT "fact_customer_search_platform_key_fkey" FOREIGN KEY ("platform_key") REFERENCES "gold"."dim_platform" ("platform_key")',
    ]);
  });

  it('COPYs staged Parquet from S3 with the IAM role, and checks fingerprints in one statement', () => {
    expect(
      dialect.copyFromS3('lakehouse_stage_dim_user', {
        uri: 's3://bucket/pre/run/dim_user-0/',
        iamRole: 'arn:aws:iam::123456789012:role/copy',
        region: 'eu-west-1',
      }),
    ).toBe(
      `COPY "lakehouse_stage_dim_user" FROM 's3://bucket/pre/run/dim_user-0/' IAM_ROLE 'arn:aws:iam::123456789012:role/copy' FORMAT AS PARQUET REGION 'eu-west-1'`,
    );
    expect(dialect.fingerprint({ schema: 'gold', table: 'dim_user' }, ['user_id'])).toBe(
      `SELECT count(*) AS n, CAST(coalesce(sum(CAST(strtol(substring(md5(coalesce(CAST("user_id" AS VARCHAR), '')), 1, 15), 16) AS DECIMAL(38,0))), 0) AS VARCHAR) AS checksum FROM "gold"."dim_user"`,
    );
    const check = dialect.assertFingerprints([
      { name: { schema: 'gold', table: "o'brien" }, key: ['a', 'b'], rowCount: 3, keyChecksum: '99' },
    ]);
    expect(check).toContain(`WHEN r.n = 3 AND r.checksum = '99' THEN 1`);
    expect(check).toContain(
      `'reconciliation failed for gold.o''brien: expected 3 rows, key checksum 99; target has '`,
    );
    expect(check).toContain(
      `coalesce(CAST("a" AS VARCHAR), '') || '|' || coalesce(CAST("b" AS VARCHAR), '')`,
    );
  });

  it('refuses names with capitals, which Redshift folds to lower case even quoted, and PostgreSQL keeps', () => {
    const mixed: GoldTable = {
      ...dimPlatform,
      name: 'Dim_Platform',
      columns: dimPlatform.columns.map((c) => (c.name === 'platform' ? { ...c, name: 'Platform' } : c)),
      primaryKey: dimPlatform.primaryKey,
    };
    const plan = planPublish({ schema: 'gold', dialect, allTables: [mixed], tables: [mixed], target: empty });
    expect(plan.steps).toEqual([]);
    expect(plan.conflicts.map((c) => c.message)).toEqual([
      'gold.Dim_Platform: Redshift folds names to lower case (dim_platform), quoted or not, so the next publish would not find Dim_Platform. Rename the model in lower case; then run and publish again.',
      'gold.Dim_Platform.Platform: Redshift folds names to lower case (platform), quoted or not, so the next publish would not find Platform. Alias the column in lower case; then run and publish again.',
    ]);
    const postgres = postgresDialect();
    expect(
      planPublish({ schema: 'gold', dialect: postgres, allTables: [mixed], tables: [mixed], target: empty })
        .conflicts,
    ).toEqual([]);
  });

  it('reports a VARCHAR that must widen as a conflict (Redshift cannot ALTER COLUMN TYPE in a transaction)', () => {
    const target: TargetState = {
      schemaExists: true,
      tables: new Map([
        [
          'dim_user',
          [
            { name: 'user_id', type: 'VARCHAR(8)' },
            { name: 'first_search_dt', type: 'TIMESTAMP' },
          ],
        ],
      ]),
      foreignKeys: [],
      keys: keysOf([dimUser]),
    };
    const plan = planPublish({ schema: 'gold', dialect, allTables: star, tables: [dimUser], target });
    expect(plan.steps).toEqual([]);
    expect(plan.conflicts).toEqual([
      {
        table: 'dim_user',
        column: 'user_id',
        message: expect.stringContaining('ALTER TABLE gold.dim_user ALTER COLUMN user_id TYPE VARCHAR(16)'),
      },
    ]);
  });
});

describe('a key holding NULLs', () => {
  const dialect = postgresDialect();
  const plan = (table: GoldTable) =>
    planPublish({ schema: 'mart', dialect, allTables: [table], tables: [table], target: empty });

  it('is a conflict whose fix fits where the key comes from; a table with no key declares none to fill', () => {
    expect(plan({ ...dimPlatform, nullKeyRows: 3 }).conflicts).toEqual([
      {
        table: 'dim_platform',
        column: 'platform_key',
        message:
          'gold.dim_platform has 3 rows with a NULL in its key (platform_key, its surrogate_key), and the key is the primary key of mart.dim_platform in the target, which holds no NULL: those rows cannot load. Fill platform_key in every row of the model (a not_null test on platform_key finds the rows); then run and publish again.',
      },
    ]);
    const keyless = { ...dimUser, keySource: 'all_columns' as const, nullKeyRows: 5 };
    expect(plan(keyless).conflicts.filter((c) => c.message.includes('NULL'))).toEqual([]);
  });
});

describe('keys an existing target table needs', () => {
  const dialect = postgresDialect();
  const columnsOf = (t: GoldTable) => t.columns.map((c) => ({ name: c.name, type: targetType(t.name, c) }));
  const targetWith = (tables: GoldTable[], keys: TargetState['keys']): TargetState => ({
    schemaExists: true,
    tables: new Map(tables.map((t) => [t.name, columnsOf(t)])),
    foreignKeys: [],
    keys,
  });

  it('refuses to merge into a table without the key, or to point a foreign key at it, naming the ALTER TABLE', () => {
    // dim_user merged (scd1) and referenced by the bridge and the fact; dim_platform not published now,
    // but the fact's new foreign key points at it; the fact is appended by its key.
    const target = targetWith([dimUser, dimPlatform, fact], []);
    const plan = planPublish({
      schema: 'gold',
      dialect,
      allTables: star,
      tables: [dimUser, bridge, fact],
      target,
    });
    expect(plan.steps).toEqual([]);
    expect(plan.conflicts.map((c) => c.table)).toEqual(['dim_user', 'fact_customer_search', 'dim_platform']);
    expect(plan.conflicts[0]?.message).toBe(
      'gold.dim_user has no primary key on (user_id): gold.dim_user is merged by it, and bridge_user_plan.user_id, fact_customer_search.user_id reference it. Run ALTER TABLE "gold"."dim_user" ADD PRIMARY KEY ("user_id"); first (it fails, naming a key, if the table holds duplicates), or drop the table to have it re-created; then publish again.',
    );
    expect(plan.conflicts[1]?.message).toContain(
      "gold.fact_customer_search has no primary key on (event_id): gold.fact_customer_search's rows are replaced by it.",
    );
    expect(plan.conflicts[2]?.message).toContain(
      'gold.dim_platform has no primary key on (platform_key): fact_customer_search.platform_key references it. Run ALTER TABLE "gold"."dim_platform" ADD PRIMARY KEY ("platform_key");',
    );
  });

  it('takes a unique constraint on the key as the key, and names a primary key on other columns to replace', () => {
    const unique = planPublish({
      schema: 'gold',
      dialect,
      allTables: star,
      tables: [dimUser],
      target: targetWith([dimUser], [{ name: 'u', table: 'dim_user', primary: false, columns: ['user_id'] }]),
    });
    expect(unique.conflicts).toEqual([]);
    const elsewhere = planPublish({
      schema: 'gold',
      dialect,
      allTables: star,
      tables: [dimPlatform],
      target: targetWith(
        [dimPlatform],
        [{ name: 'by_name', table: 'dim_platform', primary: true, columns: ['platform'] }],
      ),
    });
    expect(elsewhere.conflicts.map((c) => c.message)).toEqual([
      expect.stringContaining(
        'gold.dim_platform has its primary key on (platform), not on (platform_key): gold.dim_platform is merged by it. Run ALTER TABLE "gold"."dim_platform" DROP CONSTRAINT "by_name"; ALTER TABLE "gold"."dim_platform" ADD PRIMARY KEY ("platform_key"); first',
      ),
    ]);
    // A table the publish replaces or creates gets its key from the publish itself.
    const swapped = planPublish({
      schema: 'gold',
      dialect,
      allTables: star,
      tables: [dimDate, fact],
      target: targetWith([dimDate], []),
    });
    expect(swapped.conflicts).toEqual([]);
  });

  it('reads key columns from the definition the server prints', () => {
    expect(constraintColumns('PRIMARY KEY (platform_key)')).toEqual(['platform_key']);
    expect(constraintColumns('UNIQUE NULLS NOT DISTINCT (a, "b, ""c"" d") INCLUDE (e)')).toEqual([
      'a',
      'b, "c" d',
    ]);
  });
});

describe('PostgreSQL dialect', () => {
  const dialect = postgresDialect();

  it('never emits Redshift-only options, keys a new table after its rows, widens VARCHAR in the transaction', () => {
    const plan = planPublish({ schema: 'gold', dialect, allTables: star, tables: star, target: empty });
    const sql = plan.steps.flatMap((s) => (s.kind === 'sql' ? [s.sql] : [])).join('\n');
    expect(sql).not.toMatch(/DISTSTYLE|DISTKEY|SORTKEY|ENCODE|IDENTITY/);
    // The primary key comes after the rows: one index build instead of a million inserts.
    const statements = plan.steps.map((s) => (s.kind === 'sql' ? s.sql : `LOAD ${s.table.name}`));
    const create = statements.indexOf(
      'CREATE TABLE "gold"."fact_customer_search" ("event_id" VARCHAR(64) COLLATE "C" NOT NULL, "datetime_log" TIMESTAMP, "date_key" INTEGER, "user_id" VARCHAR(16), "platform_key" BIGINT, "score" DECIMAL(9,4))',
    );
    expect(create).toBeGreaterThan(0);
    // Only text key columns compare bytewise; an integer key has no collation.
    expect(statements).toContain(
      'CREATE TABLE "gold"."dim_date" ("date_key" INTEGER NOT NULL, "date" DATE, "is_weekend" BOOLEAN)',
    );
    expect(statements.slice(create + 1, create + 3)).toEqual([
      'LOAD fact_customer_search',
      'ALTER TABLE "gold"."fact_customer_search" ADD PRIMARY KEY ("event_id")',
    ]);
    const target: TargetState = {
      schemaExists: true,
      tables: new Map([
        ['dim_user', [{ name: 'user_id', type: 'VARCHAR(8)' }]],
        ['dim_date', [{ name: 'date_key', type: 'INTEGER' }]],
      ]),
      foreignKeys: [],
      keys: keysOf([dimUser, dimDate]),
    };
    const widened = planPublish({
      schema: 'gold',
      dialect,
      allTables: star,
      tables: [dimDate, dimUser],
      target,
    });
    expect(widened.conflicts).toEqual([]);
    const swapped = widened.steps.flatMap((s) => (s.kind === 'sql' ? [s.sql] : []));
    expect(
      swapped.slice(
        swapped.indexOf('DROP TABLE "gold"."dim_date"'),
        swapped.indexOf('DROP TABLE "gold"."dim_date"') + 5,
      ),
    ).toEqual([
      'DROP TABLE "gold"."dim_date"',
      'ALTER TABLE "gold"."dim_date__lakehouse_new" RENAME TO "dim_date"',
      'ALTER TABLE "gold"."dim_date" ADD PRIMARY KEY ("date_key")',
      'ALTER TABLE "gold"."dim_user" ADD COLUMN "first_search_dt" TIMESTAMP',
      'ALTER TABLE "gold"."dim_user" ALTER COLUMN "user_id" TYPE VARCHAR(16)',
    ]);
    // Every load goes into a table created in the publish's transaction: its rows are written frozen.
    expect(dialect.copyFromStdin({ schema: 'gold', table: 'dim_user' }, ['user_id', 'first_search_dt'])).toBe(
      `COPY "gold"."dim_user" ("user_id", "first_search_dt") FROM STDIN WITH (FORMAT csv, NULL '\\N', FREEZE)`,
    );
    expect(() => dialect.copyFromS3('x', { uri: 's3://b/p/', iamRole: 'arn' })).toThrow(/Redshift only/);
    // Unchanged members are left alone (Redshift's MERGE takes no such condition; see the Redshift test).
    expect(
      dialect.merge({ schema: 'gold', table: 'dim_user' }, 'stage', ['user_id'], ['user_id', 'a', 'b']),
    ).toBe(
      'MERGE INTO "gold"."dim_user" USING "stage" AS s ON "gold"."dim_user"."user_id" = s."user_id"' +
        ' WHEN MATCHED AND ROW("gold"."dim_user"."a", "gold"."dim_user"."b") IS DISTINCT FROM ROW(s."a", s."b")' +
        ' THEN UPDATE SET "a" = s."a", "b" = s."b"' +
        ' WHEN NOT MATCHED THEN INSERT ("user_id", "a", "b") VALUES (s."user_id", s."a", s."b")',
    );
  });
});

describe('string literals', () => {
  // What the text holds; JSON-escaped here, so \\ is one backslash.
  const text = "x\\'; DROP SCHEMA gold CASCADE; --";

  it('for Redshift double backslashes as well as quotes (Redshift reads \\ as an escape)', () => {
    const dialect = redshiftDialect();
    expect(dialect.literal(text)).toBe("'x\\\\''; DROP SCHEMA gold CASCADE; --'");
    expect(dialect.literal('plain')).toBe("'plain'");
    expect(dialect.deleteValues({ schema: 'gold', table: 'f' }, 'date_key', ['20220601', 'a\\b'])).toBe(
      `DELETE FROM "gold"."f" WHERE coalesce(CAST("date_key" AS VARCHAR), '') IN ('20220601', 'a\\\\b')`,
    );
    expect(
      dialect.copyFromS3('staging', { uri: 's3://b/p\\q/', iamRole: "arn:aws:iam::1:role/r'", region: 'x' }),
    ).toBe(
      `COPY "staging" FROM 's3://b/p\\\\q/' IAM_ROLE 'arn:aws:iam::1:role/r''' FORMAT AS PARQUET REGION 'x'`,
    );
  });

  it("for PostgreSQL use E'...' only when the text holds a backslash, so any standard_conforming_strings reads it", () => {
    const dialect = postgresDialect();
    expect(dialect.literal(text)).toBe("E'x\\\\''; DROP SCHEMA gold CASCADE; --'");
    expect(dialect.literal("it's")).toBe("'it''s'");
  });
});

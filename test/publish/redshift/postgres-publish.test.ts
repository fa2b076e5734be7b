import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher } from '../../../engine/api/dispatcher.ts';
import { ident, openDb } from '../../../engine/db/duckdb.ts';
import { createEngine, type Engine } from '../../../engine/engine.ts';
import { describeGoldTables } from '../../../engine/publish/gold-tables.ts';
import { postgresDialect, redshiftDialect } from '../../../engine/publish/redshift/dialect.ts';
import { copyStdinLoadPath, type LoadStep } from '../../../engine/publish/redshift/load.ts';
import { connectPg } from '../../../engine/publish/redshift/pg-target.ts';
import { inspectTarget, planPublish } from '../../../engine/publish/redshift/plan.ts';
import {
  preflightRedshift,
  publishRedshift,
  type RedshiftPublishOptions,
} from '../../../engine/publish/redshift/publish.ts';
import { lakehouseFailure } from '../../helpers/errors.ts';
import { type PostgresServer, startCuttingProxy, startPostgres } from '../../helpers/postgres.ts';
import { generatedProject, removeDir, tempDir } from '../../helpers/project.ts';

// The direct path end to end against a real PostgreSQL 15 on loopback: the example's whole star schema,
// re-published, upserted after a new day, failing mid-load, tampered with and cancelled.

let server: PostgresServer;
let work: string;
let engine: Engine;
let dates: string[];
let client: pg.Client;
let url: string;

/** A role that must log in with its password (the other roles have trust auth). */
const PUBLISHER_PASSWORD = 'publisher-secret';

const GOLD_TABLES = [
  'bridge_user_plan',
  'dim_category',
  'dim_date',
  'dim_network',
  'dim_platform',
  'dim_subscription',
  'dim_user',
  'dim_user_history',
  'fact_customer_search',
];

function options(extra: Partial<RedshiftPublishOptions> = {}): RedshiftPublishOptions {
  return {
    db: engine.reader,
    models: engine.models,
    connection: { kind: 'pg', config: { connectionString: url }, dialect: 'postgres' },
    ...extra,
  };
}

/** Every row of a table, each value as text (NULL as null), sorted: comparable between DuckDB and PostgreSQL. */
async function targetRows(table: string, columns: string[]): Promise<string[]> {
  const result = await client.query({
    text: `SELECT ${columns.map((c) => `${ident(c)}::text`).join(', ')} FROM gold.${ident(table)}`,
    rowMode: 'array',
  });
  return result.rows.map((r) => JSON.stringify(r)).sort();
}

async function localRows(table: string, columns: string[]): Promise<string[]> {
  const rows = await engine.reader.all<Record<string, string | null>>(
    `SELECT ${columns.map((c, i) => `CAST(${ident(c)} AS VARCHAR) AS c${i}`).join(', ')} FROM gold.${ident(table)}`,
  );
  return rows.map((r) => JSON.stringify(columns.map((_, i) => r[`c${i}`] ?? null))).sort();
}

async function columnsOf(table: string): Promise<string[]> {
  return (
    await engine.reader.all<{ column_name: string }>(
      `SELECT column_name FROM duckdb_columns() WHERE schema_name = 'gold' AND table_name = $t ORDER BY column_index`,
      { t: table },
    )
  ).map((r) => r.column_name);
}

/** The target's content, per table: what "unchanged" is checked against. */
async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const tables = await client.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'gold' ORDER BY 1`,
  );
  for (const { table_name } of tables.rows as { table_name: string }[]) {
    const r = await client.query(
      `SELECT count(*) AS n, md5(string_agg(t::text, E'\\n' ORDER BY t::text)) AS digest FROM gold.${ident(table_name)} t`,
    );
    const columns = await client.query(
      `SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) AS c FROM information_schema.columns WHERE table_schema = 'gold' AND table_name = $1`,
      [table_name],
    );
    out[table_name] = `${r.rows[0].n} ${r.rows[0].digest} ${columns.rows[0].c}`;
  }
  return out;
}

async function expectTargetEqualsGold(tables = GOLD_TABLES): Promise<void> {
  for (const table of tables) {
    const columns = await columnsOf(table);
    expect(await targetRows(table, columns), table).toEqual(await localRows(table, columns));
  }
}

beforeAll(async () => {
  work = await tempDir('lakehouse-redshift-');
  const [started, project] = await Promise.all([
    startPostgres([], { passwordUser: { name: 'publisher', password: PUBLISHER_PASSWORD } }),
    generatedProject(work, 2, 400),
  ]);
  server = started;
  dates = project.dates;
  url = await server.createDatabase('warehouse');
  client = new pg.Client({ connectionString: url });
  await client.connect();
  engine = await createEngine({ projectDir: project.dir });
  await engine.run({ dates: [dates[0] as string] });
});

afterAll(async () => {
  await client?.end();
  engine?.close();
  await server?.stop();
  await removeDir(work);
});

describe('publish to PostgreSQL (COPY FROM STDIN)', () => {
  it('previews the DDL and rows of an empty target without changing it', async () => {
    const preflight = await preflightRedshift(options());
    expect(preflight.loadPath).toBe('copy-stdin');
    expect(preflight.conflicts).toEqual([]);
    expect(preflight.tables.map((t) => t.table).sort()).toEqual(GOLD_TABLES);
    expect(preflight.tables.every((t) => t.action === 'create')).toBe(true);
    // Dimensions come before the tables pointing at them.
    expect(preflight.tables.at(-1)?.table).toBe('fact_customer_search');
    const fact = preflight.tables.find((t) => t.table === 'fact_customer_search');
    expect(fact?.rows).toBe(400);
    expect(preflight.ddl[0]).toBe('CREATE SCHEMA IF NOT EXISTS "gold"');
    expect(preflight.ddl.filter((s) => s.includes('FOREIGN KEY'))).toHaveLength(10);
    expect(await snapshot()).toEqual({});
  });

  it('publishes the whole star schema: same rows, typed columns, declared keys', async () => {
    const phases: string[] = [];
    const result = await publishRedshift(options({ onProgress: (e) => phases.push(e.phase) }));
    expect(result.reconciliation.every((r) => r.matches)).toBe(true);
    expect(result.reconciliation.find((r) => r.table === 'fact_customer_search')?.targetRows).toBe(400);
    expect(phases[0]).toBe('plan');
    expect(phases.at(-1)).toBe('done');
    expect(phases).toContain('reconcile');
    await expectTargetEqualsGold();

    const types = await client.query(
      `SELECT table_name || '.' || column_name AS c, data_type, character_maximum_length AS len, collation_name
       FROM information_schema.columns WHERE table_schema = 'gold'`,
    );
    const typeOf = (c: string) => types.rows.find((r) => r.c === c);
    expect(typeOf('fact_customer_search.datetime_log')?.data_type).toBe('timestamp without time zone');
    expect(typeOf('fact_customer_search.date_key')?.data_type).toBe('integer');
    expect(typeOf('fact_customer_search.network_key')?.data_type).toBe('bigint');
    expect(typeOf('dim_date.date')?.data_type).toBe('date');
    expect(typeOf('dim_date.is_weekend')?.data_type).toBe('boolean');
    expect(typeOf('dim_user.user_id')).toMatchObject({ data_type: 'character varying' });
    expect(Number(typeOf('dim_user.user_id')?.len)).toBeGreaterThanOrEqual(16);
    // Text keys are bytewise (faster key builds); other text keeps the database's collation.
    expect(typeOf('dim_user.user_id')?.collation_name).toBe('C');
    expect(typeOf('fact_customer_search.event_id')?.collation_name).toBe('C');
    expect(typeOf('fact_customer_search.user_id')?.collation_name).toBeNull();

    const keys = await client.query(
      `SELECT c.conrelid::regclass::text AS t, c.contype, pg_get_constraintdef(c.oid) AS def
       FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'gold' ORDER BY 1, 3`,
    );
    const defs = keys.rows.map((r) => `${r.t} ${r.def}`);
    expect(defs).toContain('gold.dim_user PRIMARY KEY (user_id)');
    expect(defs).toContain('gold.dim_category PRIMARY KEY (category_key)');
    expect(defs).toContain('gold.fact_customer_search PRIMARY KEY (event_id)');
    expect(defs).toContain(
      'gold.fact_customer_search FOREIGN KEY (user_id) REFERENCES gold.dim_user(user_id)',
    );
    expect(defs).toContain(
      'gold.fact_customer_search FOREIGN KEY (main_keyword_category) REFERENCES gold.dim_category(category_key)',
    );
    expect(defs).toContain('gold.bridge_user_plan FOREIGN KEY (user_id) REFERENCES gold.dim_user(user_id)');
    expect(keys.rows.filter((r) => r.contype === 'f')).toHaveLength(10);
  });

  it('re-publishing the same gold tables changes nothing and duplicates nothing', async () => {
    const before = await snapshot();
    const result = await publishRedshift(options());
    expect(result.tables.map((t) => [t.table, t.action])).toEqual([
      ['dim_category', 'merge'],
      ['dim_date', 'swap'],
      ['dim_network', 'merge'],
      ['dim_platform', 'merge'],
      ['dim_subscription', 'merge'],
      ['dim_user', 'merge'],
      ['dim_user_history', 'mirror'],
      ['bridge_user_plan', 'mirror'],
      ['fact_customer_search', 'append'],
    ]);
    // Every date of the fact already matches the target (count and key checksum): nothing is sent.
    const fact = result.tables.find((t) => t.table === 'fact_customer_search');
    expect(fact).toMatchObject({ rows: 400, rowsToSend: 0, sentDates: [] });
    expect(result.statements.some((s) => s.includes('lakehouse_stage_fact_customer_search'))).toBe(false);
    expect(await snapshot()).toEqual(before);
    const { rows } = await client.query(
      'SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS d FROM gold.fact_customer_search',
    );
    expect(rows[0]).toEqual({ n: 400, d: 400 });
    // The swap of dim_date dropped the fact's key to it; it is declared again.
    const fks = await client.query(
      `SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND connamespace = 'gold'::regnamespace`,
    );
    expect(fks.rows[0].n).toBe(10);
  });

  it('a failure mid-load (a constraint the new day breaks) leaves the target exactly as it was', async () => {
    await engine.run({ dates: [dates[1] as string] });
    const dayTwo = await engine.reader.scalar<string>(
      `SELECT max(event_id) FROM gold.fact_customer_search WHERE date_key = ${Number(dates[1]?.replaceAll('-', ''))}`,
    );
    // The fact loads last: every dimension has been merged by the time its insert is refused.
    await client.query(
      `ALTER TABLE gold.fact_customer_search ADD CONSTRAINT no_such_event CHECK (event_id <> '${dayTwo}')`,
    );
    const before = await snapshot();
    const error = await lakehouseFailure(publishRedshift(options()));
    expect(error.code).toBe('PUBLISH_FAILED');
    expect(error.message).toContain('no_such_event');
    expect(error.details.constraint).toBe('no_such_event');
    expect(await snapshot()).toEqual(before);
    await client.query('ALTER TABLE gold.fact_customer_search DROP CONSTRAINT no_such_event');

    // A view on a table the publish replaces (dim_date is swapped): the drop is refused, nothing changes.
    await client.query(
      'CREATE VIEW gold.weekend_days AS SELECT date_key FROM gold.dim_date WHERE is_weekend',
    );
    const blocked = await lakehouseFailure(publishRedshift(options()));
    expect(blocked.code).toBe('PUBLISH_FAILED');
    expect(blocked.message).toMatch(
      /\(view gold\.weekend_days depends on table gold\.dim_date\)\. Nothing was changed: drop the dependent object named above, publish, then create it again\.$/,
    );
    expect(await snapshot()).toEqual({ ...before, weekend_days: expect.any(String) });
    await client.query('DROP VIEW gold.weekend_days');
  });

  it('SCD1 upserts after a new day: changed members updated, new members inserted, facts appended', async () => {
    const before = await client.query(
      'SELECT user_id, last_search_dt::text AS last FROM gold.dim_user ORDER BY user_id',
    );
    const result = await publishRedshift(options());
    expect(result.reconciliation.every((r) => r.matches)).toBe(true);
    await expectTargetEqualsGold();
    // Only the new day's dates travel; the first day's rows stay as they are.
    const firstDay = dates[0]?.replaceAll('-', '') ?? '';
    const fact = result.tables.find((t) => t.table === 'fact_customer_search');
    expect(fact?.sentDates?.length).toBeGreaterThan(0);
    expect(fact?.sentDates).not.toContain(firstDay);
    expect(fact?.rowsToSend).toBe(
      await engine.reader.scalar<number>(
        `SELECT count(*) FROM gold.fact_customer_search WHERE date_key <> ${Number(firstDay)}`,
      ),
    );
    const after = new Map(
      (await client.query('SELECT user_id, last_search_dt::text AS last FROM gold.dim_user')).rows.map(
        (r) => [r.user_id, r.last],
      ),
    );
    const users = await engine.reader.scalar<number>('SELECT count(*) FROM gold.dim_user');
    expect(after.size).toBe(users);
    expect(after.size).toBeGreaterThan(before.rows.length);
    // Users seen again on day two moved their last search forward (the upsert updated them in place).
    const moved = before.rows.filter((r) => after.get(r.user_id) !== r.last);
    expect(moved.length).toBeGreaterThan(0);
    for (const r of moved) expect(String(after.get(r.user_id)) > String(r.last)).toBe(true);
    const { rows } = await client.query(
      'SELECT date_key, count(*)::int AS n FROM gold.fact_customer_search GROUP BY 1 ORDER BY 1',
    );
    const local = await engine.reader.all<{ date_key: number; n: number }>(
      'SELECT date_key, count(*)::INTEGER AS n FROM gold.fact_customer_search GROUP BY 1 ORDER BY 1',
    );
    expect(rows).toEqual(local);
    expect(rows.reduce((sum, r) => sum + r.n, 0)).toBe(800);
  });

  it('adds a column the target lacks, and refuses an incompatible target before changing anything', async () => {
    await client.query('ALTER TABLE gold.dim_network DROP COLUMN isp_group');
    const preflight = await preflightRedshift(options());
    expect(preflight.tables.find((t) => t.table === 'dim_network')?.addedColumns).toEqual(['isp_group']);
    expect(preflight.ddl).toContain('ALTER TABLE "gold"."dim_network" ADD COLUMN "isp_group" VARCHAR(16)');
    await publishRedshift(options({ tables: ['dim_network'] }));
    await expectTargetEqualsGold(['dim_network']);

    await client.query('ALTER TABLE gold.dim_user ADD COLUMN loyalty_tier integer');
    await client.query('ALTER TABLE gold.dim_platform ALTER COLUMN device_type TYPE integer USING 0');
    const before = await snapshot();
    const error = await lakehouseFailure(publishRedshift(options()));
    expect(error.code).toBe('PUBLISH_CONFLICT');
    const conflicts = error.details.conflicts as { table: string; column: string }[];
    expect(conflicts.map((c) => `${c.table}.${c.column}`).sort()).toEqual([
      'dim_platform.device_type',
      'dim_user.loyalty_tier',
    ]);
    expect(error.message).toContain(
      'gold.dim_platform.device_type is INTEGER in the target but gold needs VARCHAR(16)',
    );
    expect(await snapshot()).toEqual(before);
    await client.query('ALTER TABLE gold.dim_user DROP COLUMN loyalty_tier');
    await client.query('ALTER TABLE gold.dim_platform ALTER COLUMN device_type TYPE varchar(16) USING NULL');
    await publishRedshift(options({ tables: ['dim_platform'] }));
    await expectTargetEqualsGold(['dim_platform']);
  });

  it('widens a number column a model widened (INTEGER to BIGINT), in the transaction; Redshift says what to drop', async () => {
    // The target column narrower than gold's, as after a model widened it: PostgreSQL widens it.
    await client.query('ALTER TABLE gold.dim_user_history ALTER COLUMN plan_count TYPE smallint');
    const preflight = await preflightRedshift(options({ tables: ['dim_user_history'] }));
    expect(preflight.conflicts).toEqual([]);
    expect(preflight.tables[0]?.widenedColumns).toEqual([
      { column: 'plan_count', from: 'SMALLINT', to: 'INTEGER' },
    ]);
    await publishRedshift(options({ tables: ['dim_user_history'] }));
    const typed = await client.query(
      `SELECT data_type FROM information_schema.columns WHERE table_schema = 'gold' AND table_name = 'dim_user_history' AND column_name = 'plan_count'`,
    );
    expect(typed.rows[0].data_type).toBe('integer');
    await expectTargetEqualsGold(['dim_user_history']);
    // A wider target column takes gold's values as they are.
    await client.query('ALTER TABLE gold.dim_user_history ALTER COLUMN plan_count TYPE bigint');
    await publishRedshift(options({ tables: ['dim_user_history'] }));
    await expectTargetEqualsGold(['dim_user_history']);

    // Redshift changes no number type in place: the conflict says to drop the table, not to ALTER it.
    await client.query('ALTER TABLE gold.dim_user_history ALTER COLUMN plan_count TYPE smallint');
    const connection = await connectPg({ connectionString: url });
    try {
      const target = await inspectTarget(connection, postgresDialect(), 'gold');
      const gold = await describeGoldTables(engine.reader, engine.models);
      const plan = planPublish({
        schema: 'gold',
        dialect: redshiftDialect(),
        allTables: gold,
        tables: gold.filter((t) => t.name === 'dim_user_history'),
        target,
      });
      expect(plan.conflicts.map((c) => c.message)).toEqual([
        "gold.dim_user_history.plan_count is SMALLINT in the target but gold.dim_user_history now needs INTEGER, and Redshift cannot change a SMALLINT column's type: drop gold.dim_user_history in the target so that the next publish re-creates it with every row, or cast the column back in the model.",
      ]);
    } finally {
      await connection.close();
      await client.query('ALTER TABLE gold.dim_user_history ALTER COLUMN plan_count TYPE integer');
    }
  });

  it('finds a table without the key a merge or a foreign key needs in the plan, and runs nothing', async () => {
    // As a reviewer's target had it: the dimension created by hand, with gold's columns and no key.
    await client.query('CREATE SCHEMA other2');
    await client.query('CREATE TABLE other2.dim_platform (LIKE gold.dim_platform)');
    const fix = 'ALTER TABLE "other2"."dim_platform" ADD PRIMARY KEY ("platform_key")';
    const preflight = await preflightRedshift(options({ schema: 'other2' }));
    expect(preflight.ddl).toEqual([]);
    expect(preflight.conflicts).toEqual([
      {
        table: 'dim_platform',
        message: expect.stringContaining(
          `other2.dim_platform has no primary key on (platform_key): gold.dim_platform is merged by it, and fact_customer_search.platform_key references it. Run ${fix};`,
        ),
      },
    ]);
    const error = await lakehouseFailure(publishRedshift(options({ schema: 'other2' })));
    expect(error.code).toBe('PUBLISH_CONFLICT');
    expect(error.message).toContain('drop the table to have it re-created');
    // Only the foreign key needs it when the dimension is not published now.
    const factOnly = await preflightRedshift(options({ schema: 'other2', tables: ['fact_customer_search'] }));
    expect(factOnly.conflicts.map((c) => c.message)).toEqual([
      expect.stringContaining(
        'other2.dim_platform has no primary key on (platform_key): fact_customer_search.platform_key references it.',
      ),
    ]);
    const { rows } = await client.query(
      `SELECT string_agg(table_name, ',') AS t FROM information_schema.tables WHERE table_schema = 'other2'`,
    );
    expect(rows[0].t).toBe('dim_platform');

    // The key the message names is what it takes; the key columns are read as the server prints them.
    await client.query(fix);
    const result = await publishRedshift(options({ schema: 'other2' }));
    expect(result.reconciliation.every((r) => r.matches)).toBe(true);
    const connection = await connectPg({ connectionString: url });
    try {
      await connection.execute(
        'CREATE TABLE other2.odd ("key, ""a"" b" int, c int, d int, UNIQUE NULLS NOT DISTINCT ("key, ""a"" b", c) INCLUDE (d))',
      );
      const target = await inspectTarget(connection, postgresDialect(), 'other2');
      expect(target.keys.filter((k) => k.table !== 'odd').length).toBe(GOLD_TABLES.length);
      expect(target.keys.find((k) => k.table === 'dim_platform')).toMatchObject({
        primary: true,
        columns: ['platform_key'],
      });
      expect(target.keys.find((k) => k.table === 'odd')).toMatchObject({
        primary: false,
        columns: ['key, "a" b', 'c'],
      });
    } finally {
      await connection.close();
      await client.query('DROP SCHEMA other2 CASCADE');
    }
  });

  it('reconciliation catches a row the target changed on the way in, and rolls the load back', async () => {
    const victim = await engine.reader.scalar<string>('SELECT min(event_id) FROM gold.fact_customer_search');
    // A trigger on the target rewrites one key as the fact rows are inserted: same count, different keys.
    await client.query(`
      CREATE FUNCTION gold.tamper() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.event_id = '${victim}' THEN NEW.event_id := NEW.event_id || '-tampered'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER tamper BEFORE INSERT ON gold.fact_customer_search FOR EACH ROW EXECUTE FUNCTION gold.tamper();`);
    // The target lost the victim's date, so the publish sends that date again, through the trigger.
    await client.query(
      `DELETE FROM gold.fact_customer_search WHERE date_key = (SELECT date_key FROM gold.fact_customer_search WHERE event_id = '${victim}')`,
    );
    const before = await snapshot();
    const error = await lakehouseFailure(publishRedshift(options()));
    expect(error.code).toBe('PUBLISH_MISMATCH');
    expect(error.message).toContain('gold.fact_customer_search: target has 800 rows');
    const report = error.details.reconciliation as { table: string; matches: boolean; targetRows: number }[];
    expect(report.filter((r) => !r.matches).map((r) => r.table)).toEqual(['fact_customer_search']);
    expect(await snapshot()).toEqual(before);
    await client.query('DROP TRIGGER tamper ON gold.fact_customer_search; DROP FUNCTION gold.tamper()');
  });

  it('cancelling mid-load leaves the target unchanged', async () => {
    await client.query('TRUNCATE gold.fact_customer_search');
    const before = await snapshot();
    const controller = new AbortController();
    const error = await lakehouseFailure(
      publishRedshift(
        options({
          signal: controller.signal,
          onProgress: (e) => {
            if (e.table === 'fact_customer_search') controller.abort();
          },
        }),
      ),
    );
    expect(error.code).toBe('RUN_CANCELLED');
    expect(await snapshot()).toEqual(before);
    const result = await publishRedshift(options());
    expect(result.reconciliation.every((r) => r.matches)).toBe(true);
    await expectTargetEqualsGold();
  });

  /** Waits until this test's publish (application_name lakehouse-publish) is in `state`, then terminates it. */
  async function terminatePublishWhen(condition: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const killed = await client.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lakehouse-publish' AND ${condition}`,
      );
      if (killed.rowCount || Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('a connection lost mid-load (the server ended it) changes nothing and says to publish again', async () => {
    await publishRedshift(options());
    await client.query('TRUNCATE gold.fact_customer_search');
    const before = await snapshot();
    // Another session holds the fact table, so the publish waits on it until the server ends its connection.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('LOCK TABLE gold.fact_customer_search IN ACCESS EXCLUSIVE MODE');
      const publishing = lakehouseFailure(publishRedshift(options()));
      await terminatePublishWhen(`wait_event_type = 'Lock'`);
      await other.query('ROLLBACK');
      const error = await publishing;
      expect(error.code).toBe('PUBLISH_FAILED');
      expect(error.message).toContain('Lost the connection to');
      expect(error.message).toContain('Nothing was changed');
      expect(error.message).toContain('Publish again once the server is reachable');
      expect(error.details.commitStateUnknown).toBe(false);
    } finally {
      await other.end();
    }
    expect(await snapshot()).toEqual(before);
    expect((await publishRedshift(options())).reconciliation.every((r) => r.matches)).toBe(true);
    await expectTargetEqualsGold();
  });

  it('a connection lost during COMMIT says the outcome is unknown, and publishing again completes it', async () => {
    await publishRedshift(options());
    // A member changed on the target, for the publish to set back; a deferred trigger on that update
    // runs at COMMIT and sleeps there, so the server ends the connection mid-commit.
    await client.query(
      `UPDATE gold.dim_user SET user_type = 'changed' WHERE user_id = (SELECT min(user_id) FROM gold.dim_user)`,
    );
    const before = await snapshot();
    await client.query(`CREATE FUNCTION gold.slow_commit() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$`);
    await client.query(`CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT OR UPDATE ON gold.dim_user
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION gold.slow_commit()`);
    try {
      const publishing = lakehouseFailure(publishRedshift(options()));
      await terminatePublishWhen(`query = 'COMMIT' AND state = 'active'`);
      const error = await publishing;
      expect(error.code).toBe('PUBLISH_FAILED');
      expect(error.message).toContain('while committing the publish');
      expect(error.message).toContain('may or may not have been applied');
      expect(error.details.commitStateUnknown).toBe(true);
    } finally {
      await client.query('DROP TRIGGER slow_commit ON gold.dim_user');
      await client.query('DROP FUNCTION gold.slow_commit()');
    }
    // Here the commit did not land (the server ended it before it finished).
    expect(await snapshot()).toEqual(before);
    expect((await publishRedshift(options())).reconciliation.every((r) => r.matches)).toBe(true);
    await expectTargetEqualsGold();
  });

  // A connection cut by a proxy as the publish sends the statement: its first query after connecting,
  // or the BEGIN of its transaction. Nothing has been written either way, so nothing can have committed.
  it.each([
    ['its first statement', 'SET DateStyle = ISO; SELECT pg_backend_pid() AS pid'],
    ['BEGIN', 'BEGIN'],
  ])('a connection lost at %s says nothing was changed and to publish again', async (_, statement) => {
    await publishRedshift(options());
    await client.query('TRUNCATE gold.fact_customer_search');
    const before = await snapshot();
    const proxy = await startCuttingProxy(server, (query) => query === statement);
    try {
      const error = await lakehouseFailure(
        publishRedshift(
          options({
            connection: { kind: 'pg', config: { connectionString: proxy.url(url) }, dialect: 'postgres' },
          }),
        ),
      );
      expect(proxy.cut).toEqual([statement]);
      expect(error.code).toBe('PUBLISH_FAILED');
      expect(error.message).toContain('Lost the connection to');
      expect(error.message).toContain('Nothing was changed');
      expect(error.message).toContain('Publish again once the server is reachable');
      expect(error.details).toMatchObject({ sql: statement, commitStateUnknown: false });
    } finally {
      await proxy.close();
    }
    expect(await snapshot()).toEqual(before);
    expect((await publishRedshift(options())).reconciliation.every((r) => r.matches)).toBe(true);
    await expectTargetEqualsGold();
  });

  it('names the unknown table in --tables and the unreachable server', async () => {
    expect((await lakehouseFailure(publishRedshift(options({ tables: ['dim_nothing'] })))).code).toBe(
      'INVALID_ARGUMENT',
    );
    const error = await lakehouseFailure(
      publishRedshift(
        options({
          connection: {
            kind: 'pg',
            config: {
              connectionString: `postgres://postgres@127.0.0.1:1/warehouse`,
              connectionTimeoutMillis: 2000,
            },
            dialect: 'postgres',
          },
        }),
      ),
    );
    expect(error.code).toBe('PUBLISH_FAILED');
    expect(error.message).toContain('Cannot connect to');
  });

  it('a first publish racing another one that creates the same schema fails saying to publish again', async () => {
    // Another session (another publish, as two first publishes do) creates the schema and commits
    // while this publish waits for it; this one then trips on PostgreSQL's catalog unique index.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('CREATE SCHEMA racing');
      const publishing = lakehouseFailure(
        publishRedshift(options({ schema: 'racing', tables: ['dim_date'] })),
      );
      const deadline = Date.now() + 30_000;
      for (;;) {
        const waiting = await client.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%CREATE SCHEMA%racing%'`,
        );
        if (waiting.rows[0].n > 0 || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await other.query('COMMIT');
      const error = await publishing;
      expect(error.code).toBe('PUBLISH_FAILED');
      expect(error.message).toContain('Nothing was changed');
      expect(error.message).toContain('Publish again once it has finished');
      const tables = await client.query(
        `SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'racing'`,
      );
      expect(tables.rows[0].n).toBe(0);
      // As the message says: publishing again succeeds.
      const again = await publishRedshift(options({ schema: 'racing', tables: ['dim_date'] }));
      expect(again.tables.map((t) => t.table)).toEqual(['dim_date']);
    } finally {
      await other.query('DROP SCHEMA IF EXISTS racing CASCADE').catch(() => undefined);
      await other.end();
    }
  });

  it('checks fingerprints in one statement that fails naming the table (the Data API reconciliation)', async () => {
    const dialect = postgresDialect();
    const [dimDate] = await describeGoldTables(engine.reader, engine.models, { tables: ['dim_date'] });
    if (!dimDate) throw new Error('no dim_date');
    const check = (rowCount: number) =>
      dialect.assertFingerprints([
        {
          name: { schema: 'gold', table: 'dim_date' },
          key: dimDate.primaryKey,
          rowCount,
          keyChecksum: dimDate.keyChecksum,
        },
      ]);
    expect((await client.query(check(dimDate.rowCount))).rows).toEqual([{ ok: 1 }]);
    await expect(client.query(check(dimDate.rowCount + 1))).rejects.toThrow(
      `reconciliation failed for gold.dim_date: expected ${dimDate.rowCount + 1} rows, key checksum ${dimDate.keyChecksum}; target has ${dimDate.rowCount} rows`,
    );
  });

  it('keeps a schema holding a backslash and a quote inside its literal, whatever the server reads backslashes as', async () => {
    // With standard_conforming_strings off PostgreSQL reads \\ in '...' as an escape, as Redshift
    // always does: with quotes alone doubled this schema ended the string and created a table (the
    // SELECT takes the ORDER BY on the query's next line).
    const schema =
      "x\\'; CREATE TABLE public.pwned (n int); SELECT 1 AS table_name, 1 AS ordinal_position --";
    for (const setting of ['on', 'off']) {
      const preflight = await preflightRedshift(
        options({
          connection: {
            kind: 'pg',
            config: { connectionString: url, options: `-c standard_conforming_strings=${setting}` },
            dialect: 'postgres',
          },
          schema,
          tables: ['dim_date'],
        }),
      );
      expect([setting, preflight.tables.map((t) => t.action)]).toEqual([setting, ['create']]);
    }
    const pwned = await client.query(`SELECT to_regclass('public.pwned') AS t`);
    expect(pwned.rows[0].t).toBeNull();
    // Redshift's literal read the way Redshift reads it (backslash escapes) gives the text back as it was.
    const connection = await connectPg({
      connectionString: url,
      options: '-c standard_conforming_strings=off',
    });
    try {
      const [row] = await connection.query(`SELECT ${redshiftDialect().literal(schema)} AS v`);
      expect(row?.v).toBe(schema);
    } finally {
      await connection.close();
    }
  });

  it('refuses a target schema that is not a plain name at the API', async () => {
    const dispatcher = createDispatcher(engine);
    try {
      const refused = await lakehouseFailure(
        dispatcher.call('publish.redshift.preflight', { url, schema: "x\\'; DROP SCHEMA gold CASCADE; --" }),
      );
      expect(refused.code).toBe('INVALID_ARGUMENT');
      expect(refused.details.issues).toEqual([
        {
          path: 'schema',
          message: 'expected a schema name: a letter or _, then letters, digits, _ or $, e.g. gold',
        },
      ]);
    } finally {
      await dispatcher.close();
    }
  });

  it('answers publish.redshift.preflight and publish.redshift.run through the dispatcher', async () => {
    const dispatcher = createDispatcher(engine);
    try {
      const apiUrl = await server.createDatabase('via_api');
      const preflight = await dispatcher.call('publish.redshift.preflight', {
        url: apiUrl,
        tables: ['dim_date'],
      });
      expect(preflight).toMatchObject({
        dialect: 'postgres',
        loadPath: 'copy-stdin',
        tables: [{ table: 'dim_date', action: 'create', rows: 365, rowsToSend: 365 }],
      });
      const result = (await dispatcher.call('publish.redshift.run', {
        url: apiUrl,
        schema: 'mart',
        tables: ['dim_date', 'dim_user'],
      })) as { schema: string; reconciliation: { matches: boolean }[] };
      expect(result.schema).toBe('mart');
      expect(result.reconciliation.map((r) => r.matches)).toEqual([true, true]);
      const both = await lakehouseFailure(
        dispatcher.call('publish.redshift.run', { url: apiUrl, target: 'prod' }),
      );
      expect(both.code).toBe('INVALID_ARGUMENT');
      expect(both.message).toContain('exactly one of target or url');
    } finally {
      await dispatcher.close();
    }
  });

  it('through the API, sends PGPASSWORD with a URL only to this computer, and refuses any other host first', async () => {
    const dispatcher = createDispatcher(engine);
    const previous = process.env.PGPASSWORD;
    process.env.PGPASSWORD = PUBLISHER_PASSWORD;
    try {
      const local = new URL(await server.createDatabase('via_api_password'));
      local.username = 'publisher';
      // Loopback: the role's password comes from PGPASSWORD, as in the CLI.
      const preflight = await dispatcher.call('publish.redshift.preflight', {
        url: local.toString(),
        tables: ['dim_date'],
      });
      expect(preflight).toMatchObject({ tables: [{ table: 'dim_date', action: 'create' }] });

      // Any other host is refused before a connection is tried (192.0.2.1 is TEST-NET: nothing answers),
      // whether it is the URL's host or a ?host= parameter node-postgres would connect to instead.
      for (const elsewhere of [
        'postgres://publisher@192.0.2.1:5432/warehouse',
        `postgres://publisher@127.0.0.1:${server.port}/warehouse?host=192.0.2.1`,
        'postgres://publisher@db.example.com/warehouse',
      ]) {
        for (const method of ['publish.redshift.preflight', 'publish.redshift.run'] as const) {
          const started = Date.now();
          const refused = await lakehouseFailure(
            dispatcher.call(method, { url: elsewhere, tables: ['dim_date'] }),
          );
          expect(refused.code, elsewhere).toBe('INVALID_ARGUMENT');
          expect(refused.details).toMatchObject({ field: 'url' });
          expect(refused.message).toContain(
            'the app connects by URL only to a database on this computer (localhost, 127.0.0.1, ::1)',
          );
          expect(refused.message).toContain(
            'add a named target under publish.redshift in lakehouse.yaml with password_env',
          );
          expect(Date.now() - started).toBeLessThan(2000);
        }
      }
    } finally {
      if (previous === undefined) delete process.env.PGPASSWORD;
      else process.env.PGPASSWORD = previous;
      await dispatcher.close();
    }
  });

  it('streams through a named pipe, and neither side hangs when the other fails', async () => {
    const db = await openDb();
    const connection = await connectPg({ connectionString: url });
    const loadPath = copyStdinLoadPath(db);
    const dialect = postgresDialect();
    // Loads are COPY FREEZE: each goes into a table created in its own transaction, as in a publish.
    const createTarget = async () => {
      await connection.begin();
      await connection.execute('CREATE TABLE gold.stream_check (n integer CHECK (n < 50000))');
    };
    try {
      await createTarget();
      await db.run('CREATE SCHEMA gold');
      await db.run('CREATE TABLE gold.stream_check AS SELECT range::INTEGER AS n FROM range(200000)');
      const table = {
        name: 'stream_check',
        columns: [{ name: 'n', duckdbType: 'INTEGER', nullable: true, maxBytes: null }],
      } as unknown as LoadStep['table'];
      const step: LoadStep = {
        kind: 'load',
        table,
        into: { schema: 'gold', table: 'stream_check' },
        columns: [{ name: 'n', type: 'INTEGER', notNull: false }],
        rows: 200_000,
      };
      // The target refuses a row half-way through: the COPY fails, DuckDB's writer is released.
      const refused = await loadPath.prepare(step, dialect);
      expect(refused.kind === 'stdin' && refused.written).toBeTruthy();
      if (refused.kind !== 'stdin') throw new Error('expected a stdin load');
      const error = await lakehouseFailure(connection.copyIn(refused.sql, refused.file, refused.written));
      expect(error.message).toContain('stream_check_n_check');
      expect(await db.scalar('SELECT 42')).toBe(42);
      await connection.rollback();

      // DuckDB fails before writing anything: the COPY sees the end of the data and the error is DuckDB's.
      await db.run('DROP TABLE gold.stream_check');
      await createTarget();
      const broken = await loadPath.prepare(step, dialect).catch((e: Error) => e);
      if (broken instanceof Error || broken.kind !== 'stdin')
        throw new Error('expected a prepared stdin load');
      const exportError = await lakehouseFailure(connection.copyIn(broken.sql, broken.file, broken.written));
      expect(exportError.message).toMatch(/Exporting rows .* failed: .*stream_check/);
      expect((await connection.query('SELECT 1 AS ok'))[0]).toEqual({ ok: 1 });
    } finally {
      await connection.rollback();
      await loadPath.cleanup();
      await connection.close();
      db.close();
    }
  });

  it('removes the pipe folder a killed publish left, and not the folder of a publish still running', async () => {
    // Two stand-ins for publishes in other processes: each makes its folder (with a named pipe) as a
    // publish does, named with its pid; one is then killed with kill -9, the other keeps running.
    const standIn = (): Promise<{ child: ChildProcess; dir: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn(
          'sh',
          [
            '-c',
            'd="$1/lakehouse-publish-$$-a1B2c3"; mkdir "$d" && mkfifo "$d/t-0.csv" && echo "$d" && exec sleep 60',
            'sh',
            tmpdir(),
          ],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        child.once('error', reject);
        child.stdout?.once('data', (data: Buffer) => resolve({ child, dir: data.toString().trim() }));
      });
    const killed = await standIn();
    const running = await standIn();
    try {
      const exited = new Promise((resolve) => killed.child.once('exit', resolve));
      killed.child.kill('SIGKILL');
      await exited;
      expect(existsSync(join(killed.dir, 't-0.csv'))).toBe(true);

      await publishRedshift(options());
      expect(existsSync(killed.dir)).toBe(false);
      expect(existsSync(join(running.dir, 't-0.csv'))).toBe(true);
      // The publish removed its own folder too: none of this process is left.
      const own = (await readdir(tmpdir())).filter((n) => n.startsWith(`lakehouse-publish-${process.pid}-`));
      expect(own).toEqual([]);
    } finally {
      running.child.kill('SIGKILL');
      await removeDir(running.dir);
      await removeDir(killed.dir);
    }
  });

  // Last: it deletes local fact rows, and the tests above count the fact's 800.
  it('sends a date whose values changed under the same keys, as a re-run after a source fix leaves it', async () => {
    // Same events, other keywords: the count and the key checksum of that date are unchanged.
    const [changed] = await engine.reader.all<{ date_key: number }>(
      'SELECT date_key FROM gold.fact_customer_search GROUP BY 1 ORDER BY 1 LIMIT 1',
    );
    await engine.db.run(
      `UPDATE gold.fact_customer_search SET keyword = 'corrected ' || keyword WHERE date_key = ${changed!.date_key}`,
    );
    const result = await publishRedshift(options());
    expect(result.tables.find((t) => t.table === 'fact_customer_search')?.sentDates).toEqual([
      String(changed!.date_key),
    ]);
    await expectTargetEqualsGold(['fact_customer_search']);
    // Recorded with the load: the next publish has nothing to send.
    const again = await publishRedshift(options());
    expect(again.tables.find((t) => t.table === 'fact_customer_search')).toMatchObject({
      rowsToSend: 0,
      sentDates: [],
    });
  });

  it('removes from the target a date key whose rows are gone locally (it used to fail every later publish)', async () => {
    // As when a re-run day lost its late events: one date key of the fact has no local rows any more.
    const [gone] = await engine.reader.all<{ date_key: number }>(
      'SELECT date_key FROM gold.fact_customer_search GROUP BY 1 ORDER BY count(*), 1 LIMIT 1',
    );
    await engine.db.run(`DELETE FROM gold.fact_customer_search WHERE date_key = ${gone!.date_key}`);
    const result = await publishRedshift(options());
    expect(result.reconciliation.every((r) => r.matches)).toBe(true);
    expect(result.tables.find((t) => t.table === 'fact_customer_search')?.sentDates).toEqual([
      String(gone!.date_key),
    ]);
    await expectTargetEqualsGold(['fact_customer_search']);
  });
});

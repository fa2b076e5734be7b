import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LakehouseEvent } from '../../engine/api/contract.ts';
import type { Engine } from '../../engine/engine.ts';
import { KNOWN_PLAN_CHANGE_PLANS, KNOWN_PLAN_CHANGE_USER } from '../../engine/generate/generate.ts';
import { type Client, createClient } from '../../renderer/src/api/client.ts';
import { bothTransports, rejection, type ServedProject, serveGeneratedProject } from '../helpers/api.ts';

// The explore methods (pipeline graph, star schema, SCD history, model edit and diff) over both
// transports, on one generated project of four days: the known user's plans change every day.

const SEEDED_ORPHANS = 7;
const FACT = 'gold.fact_customer_search';

let served: ServedProject;
let projectDir: string;
let dates: string[];
let engine: Engine;
let factText: string;

beforeAll(async () => {
  served = await serveGeneratedProject({
    prefix: 'lakehouse-explore-',
    days: 4,
    rowsPerDay: 300,
    prepare: async (engine, project) => {
      const summary = await engine.run({});
      expect(summary.status).toBe('success');
      factText = await readFile(join(project.dir, 'models', 'gold', 'fact_customer_search.sql'), 'utf8');
    },
  });
  ({ projectDir, dates, engine } = served);
});

afterAll(() => served?.close());

const transports = bothTransports(() => served);

/**
 * Seeded orphans: fact rows of the first day pointing at a platform key no dimension row has. The same
 * rows every time (a full re-run repairs them), so each transport's suite can seed them again.
 */
async function seedOrphans(): Promise<void> {
  await engine.db.run(
    `UPDATE gold.fact_customer_search SET platform_key = 999 WHERE event_id IN (
       SELECT event_id FROM gold.fact_customer_search
       WHERE platform_key <> 0 AND date_key = ${dates[0]!.replaceAll('-', '')}
       ORDER BY event_id LIMIT ${SEEDED_ORPHANS})`,
  );
}

async function scalar(client: Client, sql: string): Promise<number> {
  const { rows } = await client.call('query.run', { sql });
  return Number(Object.values(rows[0] ?? {})[0]);
}

describe.each(transports)('explore methods over the %s transport', (name, makeTransport) => {
  let client: Client;
  const finished = new Map<string, LakehouseEvent>();

  beforeAll(async () => {
    client = createClient(makeTransport());
    client.onEvent((event) => {
      if (event.type === 'run.finished') finished.set(event.runId, event);
    });
    await client.ready();
  });
  afterAll(() => client?.close());

  it('pipeline.graph gives each model its latest run and each edge the rows that flowed', async () => {
    const graph = await client.call('pipeline.graph');
    expect(graph.nodes).toHaveLength(13);
    expect(graph.nodes.every((n) => n.status === 'success' && n.dates.length === 4)).toBe(true);
    const fact = graph.nodes.find((n) => n.model === FACT);
    expect(fact?.testsFailed).toBe(0);
    // Each of the fact's 10 tests once, not once per date.
    expect(fact?.testsPassed).toBe(10);
    const silverRows = await scalar(client, 'SELECT count(*) FROM silver.customer_search');
    const edge = graph.edges.find((e) => e.from === 'silver.customer_search' && e.to === FACT);
    expect(edge?.rows).toBe(silverRows);
    // Nodes carry what their tables hold now; a merged dimension holds fewer rows than its dates wrote.
    const users = await scalar(client, 'SELECT count(*) FROM gold.dim_user');
    const dimUser = graph.nodes.find((n) => n.model === 'gold.dim_user');
    expect(dimUser?.tableRows).toBe(users);
    expect(dimUser!.rowsOut).toBeGreaterThan(users);
    expect(fact?.tableRows).toBe(await scalar(client, `SELECT count(*) FROM ${FACT}`));
    expect(graph.nodes.find((n) => n.model === 'silver.customer_search')?.tableRows).toBe(silverRows);
    // A dimension is looked up whole: its edge into the fact carries its table's rows.
    expect(graph.edges.find((e) => e.from === 'gold.dim_user' && e.to === FACT)?.rows).toBe(users);
    // A table rebuilt each date counts its last date's rows, not the sum over dates.
    const calendar = graph.nodes.find((n) => n.model === 'gold.dim_date');
    expect(calendar?.rowsOut).toBe(await scalar(client, 'SELECT count(*) FROM gold.dim_date'));
    const bronzeEdge = graph.edges.find((e) => e.from === 'bronze.customer_search');
    expect(bronzeEdge?.rows).toBe(4 * 300);
    const info = await client.call('project.info');
    expect(graph.edges).toHaveLength(info.models.reduce((n, m) => n + m.upstream.length, 0));
  });

  it('star.schema counts missing and unknown members per FK edge; star.orphans lists them', async () => {
    await seedOrphans();
    const star = await client.call('star.schema');
    expect(star.tables.find((t) => t.id === FACT)).toMatchObject({ role: 'fact', key: ['event_id'] });
    expect(star.tables.find((t) => t.id === 'gold.bridge_user_plan')?.role).toBe('bridge');
    expect(star.tables.find((t) => t.id === 'gold.dim_platform')?.key).toEqual(['platform_key']);
    // dim_date declares no key: it is keyed by the column the fact points at.
    expect(star.tables.find((t) => t.id === 'gold.dim_date')?.key).toEqual(['date_key']);
    const unknownPlatforms = await scalar(client, `SELECT count(*) FROM ${FACT} WHERE platform_key = 0`);
    const platform = star.edges.find((e) => e.from === FACT && e.column === 'platform_key');
    expect(platform).toMatchObject({
      to: 'gold.dim_platform',
      field: 'platform_key',
      missing: SEEDED_ORPHANS,
      unknown: unknownPlatforms,
      checked: true,
    });
    expect(platform?.rows).toBe(await scalar(client, `SELECT count(*) FROM ${FACT}`));
    expect(star.edges.find((e) => e.column === 'date_key')).toMatchObject({ missing: 0, unknown: 0 });
    // user_id is a natural key: no unknown member, so nothing counts as unknown.
    expect(star.edges.find((e) => e.from === FACT && e.column === 'user_id')?.unknown).toBe(0);
    expect(star.edges.filter((e) => e.from === 'gold.bridge_user_plan')).toHaveLength(2);

    const missing = await client.call('star.orphans', {
      from: FACT,
      column: 'platform_key',
      to: 'gold.dim_platform',
      kind: 'missing',
    });
    expect(missing.total).toBe(SEEDED_ORPHANS);
    expect(missing.rows.map((r) => r.platform_key)).toEqual(Array(SEEDED_ORPHANS).fill(999));
    expect(missing.columns.map((c) => c.name)).toContain('event_id');
    const unknown = await client.call('star.orphans', {
      from: FACT,
      column: 'platform_key',
      to: 'gold.dim_platform',
      kind: 'unknown',
      limit: 2,
    });
    expect(unknown.total).toBe(unknownPlatforms);
    expect(unknown.rows.length).toBe(Math.min(2, unknownPlatforms));
    const wrong = await rejection(
      client.call('star.orphans', { from: FACT, column: 'keyword', to: 'gold.dim_platform' }),
    );
    expect(wrong.code).toBe('INVALID_ARGUMENT');
  });

  it('history.key shows the SCD2 versions of the known user, with the changed columns', async () => {
    const keys = await client.call('history.keys', {
      model: 'gold.dim_user_history',
      search: KNOWN_PLAN_CHANGE_USER,
    });
    expect(keys).toEqual({
      keyColumns: ['user_id'],
      unit: 'versions',
      keys: [{ key: KNOWN_PLAN_CHANGE_USER, count: 4 }],
    });
    const history = await client.call('history.key', {
      model: 'gold.dim_user_history',
      key: KNOWN_PLAN_CHANGE_USER,
    });
    expect(history).toMatchObject({ kind: 'scd2', keyColumns: ['user_id'], breaks: [] });
    expect(history.lanes).toHaveLength(1);
    const versions = history.lanes[0]?.versions ?? [];
    expect(versions.map((v) => [v.validFrom, v.validTo, v.current])).toEqual([
      [dates[0], dates[1], false],
      [dates[1], dates[2], false],
      [dates[2], dates[3], false],
      [dates[3], null, true],
    ]);
    const { A, B, C } = KNOWN_PLAN_CHANGE_PLANS;
    expect(versions.map((v) => v.row.plan_set)).toEqual([
      [B, A].sort().join(', '),
      A,
      [B, A].sort().join(', '),
      [A, C].sort().join(', '),
    ]);
    expect(versions.map((v) => v.changed)).toEqual([
      [],
      ['plan_set', 'plan_count'],
      ['plan_set', 'plan_count'],
      ['plan_set'],
    ]);
  });

  it('history.keys finds the text typed, `_` and `%` included', async () => {
    // They were LIKE wildcards: `_` listed keys without one (user ids are digits), `0_0` 07 and 00.
    for (const search of ['_', '%', '0_0']) {
      const { keys } = await client.call('history.keys', { model: 'gold.dim_user_history', search });
      expect(keys, search).toEqual([]);
    }
    const part = KNOWN_PLAN_CHANGE_USER.slice(1, -1);
    const found = await client.call('history.keys', { model: 'gold.dim_user_history', search: part });
    expect(found.keys.map((k) => k.key)).toContain(KNOWN_PLAN_CHANGE_USER);
  });

  it('history.key names the | that joins a key of several columns, with a key the table has', async () => {
    const keys = await client.call('history.keys', { model: 'gold.dim_network' });
    expect(keys.keyColumns).toEqual(['proxy_isp', 'network_type']);
    expect((await client.call('history.keys', { model: 'gold.bridge_user_plan' })).keyColumns).toEqual([
      'user_id',
    ]);
    // Typed as the key's columns were once listed, with a comma: refused, with a key that works.
    const wrong = await rejection(
      client.call('history.key', { model: 'gold.dim_network', key: 'vnpt, wifi' }),
    );
    expect(wrong.code).toBe('INVALID_ARGUMENT');
    expect(wrong.message).toContain('gold.dim_network has no rows for proxy_isp|network_type = vnpt, wifi.');
    // A NULL part has a way to be typed, and the message says it.
    expect(wrong.message).toContain('(a NULL value written \\N, a | or \\ inside a value preceded by \\)');
    // dim_network has no logged change, so the picker lists no key to pick (it said "pick one from the list").
    expect((await client.call('history.keys', { model: 'gold.dim_network' })).keys).toEqual([]);
    expect(wrong.message).toContain(
      'or copy one from gold.dim_network in Tables (members without a recorded change are not listed here).',
    );
    const listed = await rejection(
      client.call('history.key', { model: 'gold.dim_user_history', key: 'nobody' }),
    );
    expect(listed.message).toMatch(
      /has no rows for user_id = nobody\. Check the key \(leading zeros count\), or pick one from the list\.$/,
    );
    const example = /, e\.g\. ([^|]+\|[^|]+?)\. Check/.exec(wrong.message)?.[1];
    expect(example).toBeDefined();
    const history = await client.call('history.key', { model: 'gold.dim_network', key: example! });
    expect(history).toMatchObject({ kind: 'scd1', keyColumns: ['proxy_isp', 'network_type'] });
    expect(history.lanes.flatMap((l) => l.versions)).toHaveLength(1);
  });

  it('history.key shows the bridge lanes of the known user: B leaves and comes back, C arrives', async () => {
    const history = await client.call('history.key', {
      model: 'gold.bridge_user_plan',
      key: KNOWN_PLAN_CHANGE_USER,
    });
    // The timeline of every key runs to the day after the model's latest date.
    expect(history).toMatchObject({
      kind: 'bridge',
      memberColumn: 'subscription_key',
      breaks: [],
      latestDate: dates.at(-1),
    });
    const lane = (plan: string) => {
      const [name] = plan.split(':');
      return history.lanes.find((l) => l.label.includes(` · ${name} · `));
    };
    const { A, B, C } = KNOWN_PLAN_CHANGE_PLANS;
    expect(lane(A)?.versions.map((v) => [v.validFrom, v.validTo, v.current])).toEqual([
      [dates[0], null, true],
    ]);
    expect(lane(B)?.versions.map((v) => [v.validFrom, v.validTo, v.current])).toEqual([
      [dates[0], dates[1], false],
      [dates[2], dates[3], false],
    ]);
    expect(lane(C)?.versions.map((v) => [v.validFrom, v.validTo, v.current])).toEqual([
      [dates[3], null, true],
    ]);

    // Keys are ranked by versions of their set of plans (a date a plan joined, left or came back), as
    // the lanes show them: the known user's four days, not a count of plans that never changed.
    const suggested = await client.call('history.keys', { model: 'gold.bridge_user_plan', limit: 50 });
    expect(suggested.unit).toBe('versions');
    expect(suggested.keys.find((k) => k.key === KNOWN_PLAN_CHANGE_USER)?.count).toBe(4);
    const counts = suggested.keys.map((k) => k.count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    for (const { key, count } of suggested.keys.slice(0, 5)) {
      const { lanes } = await client.call('history.key', { model: 'gold.bridge_user_plan', key });
      const changedOn = lanes.flatMap((l) => l.versions.flatMap((v) => [v.validFrom, v.validTo]));
      expect(new Set(changedOn.filter((d) => d !== null)).size, key).toBe(count);
    }
  });

  it('history.key flags invariant breaks: several current rows, open/closed mismatch, a gap', async () => {
    const { keys } = await client.call('history.keys', { model: 'gold.dim_user_history', limit: 50 });
    const key = keys.find((k) => k.count === 2 && k.key !== KNOWN_PLAN_CHANGE_USER)?.key;
    expect(key).toBeDefined();
    const before = await client.call('history.key', { model: 'gold.dim_user_history', key: key! });
    expect(before.breaks).toEqual([]);
    const [first, second] = before.lanes[0]?.versions ?? [];
    // Corrupt this key only: its first version claims to be current, its second starts a day late.
    const corrupt = async (current: boolean, shift: number) => {
      await engine.db.run(
        'UPDATE gold.dim_user_history SET is_current = $current WHERE user_id = $key AND valid_from = $first::DATE',
        { key: key!, first: first!.validFrom!, current },
      );
      await engine.db.run(
        'UPDATE gold.dim_user_history SET valid_from = $second::DATE + $shift WHERE user_id = $key AND valid_to IS NULL',
        { key: key!, second: second!.validFrom!, shift },
      );
    };
    await corrupt(true, 1);
    const broken = await client.call('history.key', { model: 'gold.dim_user_history', key: key! });
    expect(broken.breaks.map((b) => b.kind).sort()).toEqual(['gap', 'open-but-closed', 'several-current']);
    expect(broken.breaks.find((b) => b.kind === 'gap')?.message).toContain(String(second!.validFrom));
    await corrupt(false, 0);
  });

  it('history.key gives an SCD1 dimension the change log its runs recorded', async () => {
    const history = await client.call('history.key', { model: 'gold.dim_user', key: KNOWN_PLAN_CHANGE_USER });
    expect(history.kind).toBe('scd1');
    expect(history.lanes[0]?.versions.map((v) => v.row.user_id)).toEqual([KNOWN_PLAN_CHANGE_USER]);
    const firstRun = history.changes.filter((c) => c.runId === history.changes[0]?.runId);
    expect(firstRun[0]).toMatchObject({ kind: 'insert', etlDate: dates[0], column: null, before: null });
    // Running extremes (least/greatest) are not logged, though last_search_dt moved every day.
    expect(firstRun.filter((c) => c.kind === 'update' && /_search_dt$/.test(c.column ?? ''))).toEqual([]);
    // Suggestions count recorded changes: a key with only its first insert has none to show.
    const suggested = await client.call('history.keys', { model: 'gold.dim_user', limit: 500 });
    expect(suggested.unit).toBe('changes');
    // ...and say which columns the log leaves out, so an empty list is not mistaken for no changes.
    expect(suggested.notLogged).toEqual([
      { column: 'first_search_dt', rule: 'least' },
      { column: 'last_search_dt', rule: 'greatest' },
    ]);
    expect(suggested.keys.map((k) => k.key)).not.toContain(KNOWN_PLAN_CHANGE_USER);
    expect(suggested.keys.every((k) => k.count > 0)).toBe(true);

    const notHistory = await rejection(client.call('history.key', { model: FACT, key: '1' }));
    expect(notHistory).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(notHistory.message).toMatch(/gold.dim_user_history/);
    const noKey = await rejection(
      client.call('history.key', { model: 'gold.dim_user_history', key: '12345' }),
    );
    expect(noKey.message).toMatch(/leading zeros/);
    const noScd1Key = await rejection(client.call('history.key', { model: 'gold.dim_user', key: 'nobody' }));
    expect(noScd1Key.code).toBe('INVALID_ARGUMENT');
  });

  it('model.preview runs edited SQL for one date without writing; errors point at the file line', async () => {
    const source = await client.call('model.source', { model: FACT });
    expect(source.text).toBe(factText);
    const lines = factText.split('\n');
    expect(lines[source.sqlStartLine - 1]).toMatch(/^WITH events AS/);
    const before = await scalar(client, `SELECT count(*) FROM ${FACT}`);
    const preview = await client.call('model.preview', {
      model: FACT,
      text: factText,
      date: dates[1],
      limit: 5,
    });
    expect(preview).toMatchObject({ date: dates[1], hasMore: true });
    expect(preview.rows).toHaveLength(5);
    expect(preview.columns.map((c) => c.name)).toContain('main_keyword_category');
    expect(await scalar(client, `SELECT count(*) FROM ${FACT}`)).toBe(before);

    const categoryLine = lines.findIndex((l) => l.trim() === 'e.category,') + 1;
    const unknownColumn = factText.replace('  e.category,\n', '  e.no_such_column,\n');
    const bind = await rejection(client.call('model.preview', { model: FACT, text: unknownColumn }));
    expect(bind).toMatchObject({ code: 'MODEL_SQL_ERROR', details: { line: categoryLine } });
    expect(bind.message).toContain(`fact_customer_search.sql:${categoryLine}:`);
    const syntax = factText.replace('  e.category,\n', '  e.category,,\n');
    const parse = await rejection(client.call('model.preview', { model: FACT, text: syntax }));
    expect(parse).toMatchObject({ code: 'MODEL_SQL_ERROR', details: { line: categoryLine } });
    const header = await rejection(
      client.call('model.preview', {
        model: FACT,
        text: factText.replace('materialized: append', 'materialized: nope'),
      }),
    );
    expect(header.code).toBe('MODEL_INVALID');
    // A misspelt variable reads NULL: the preview would show no rows, not an error, while Save refuses it.
    const variableLine = lines.findIndex((l) => l.includes("getvariable('etl_date')")) + 1;
    const misspelt = factText.replace("getvariable('etl_date')", "getvariable('etl_dat')");
    const variable = await rejection(
      client.call('model.preview', { model: FACT, text: misspelt, date: dates[1] }),
    );
    expect(variable).toMatchObject({
      code: 'MODEL_INVALID',
      details: { line: variableLine, variable: 'etl_dat' },
    });
    expect(variable.message).toContain(`fact_customer_search.sql:${variableLine}: getvariable('etl_dat')`);
  });

  it('model.apply saves, runs the model and its downstream, and model.diff shows what changed', async () => {
    const last = dates[3]!;
    const expected = await scalar(
      client,
      `SELECT count(*) FROM silver.customer_search WHERE etl_date = DATE '${last}' AND category IS DISTINCT FROM upper(category)`,
    );
    expect(expected).toBeGreaterThan(0);
    const broken = await rejection(
      client.call('model.apply', { model: FACT, text: factText.replace('  e.category,\n', '  e.nope,\n') }),
    );
    expect(broken.code).toBe('MODEL_SQL_ERROR');
    expect(await readFile(join(projectDir, 'models', 'gold', 'fact_customer_search.sql'), 'utf8')).toBe(
      factText,
    );
    // A header naming a column the SQL does not output is refused before the file is written.
    const misnamed = await rejection(
      client.call('model.apply', {
        model: FACT,
        text: factText.replace('unique_key: event_id', 'unique_key: event'),
      }),
    );
    expect(misnamed).toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringMatching(
        /^models\/gold\/fact_customer_search\.sql:4: unique_key names the column "event"/,
      ),
    });
    expect(await readFile(join(projectDir, 'models', 'gold', 'fact_customer_search.sql'), 'utf8')).toBe(
      factText,
    );

    const shouted = factText.replace('  e.category,\n', '  upper(e.category) AS category,\n');
    for (const text of [shouted, factText]) {
      const started = await client.call('model.apply', { model: FACT, text, dates: [last] });
      expect(started.tables).toEqual([FACT]);
      expect(started.total).toBe(1);
      const diff = await client.call('model.diff', { runId: started.runId });
      expect(diff.status).toBe('success');
      const [table] = diff.tables;
      expect(table).toMatchObject({
        table: FACT,
        key: ['event_id'],
        added: 0,
        removed: 0,
        changed: expected,
        changedColumns: { category: expected },
      });
      expect(table?.rowsAfter).toBe(table?.rowsBefore);
      // Each column's type, so the editor shows the examples' values as the grid does.
      expect(table?.columnTypes).toMatchObject({
        category: 'VARCHAR',
        datetime_log: 'TIMESTAMP',
        platform_key: 'BIGINT',
      });
      expect(table?.changedExamples[0]?.columns).toEqual(['category']);
      const example = table?.changedExamples[0];
      expect(String(example?.after.category)).toBe(
        text === shouted ? String(example?.before.category).toUpperCase() : String(example?.after.category),
      );
      expect(await readFile(join(projectDir, 'models', 'gold', 'fact_customer_search.sql'), 'utf8')).toBe(
        text,
      );
    }
    // A dimension edit runs the fact downstream too; the new member shows as added, by its key.
    const categoryFile = join(projectDir, 'models', 'gold', 'dim_category.sql');
    const categoryText = await readFile(categoryFile, 'utf8');
    const genre = `Thử nghiệm ${name}`;
    const withGenre = `${categoryText.trimEnd()}\nUNION ALL SELECT '${genre}', slugify('${genre}')\n`;
    const grown = await client.call('model.apply', {
      model: 'gold.dim_category',
      text: withGenre,
      dates: [last],
    });
    expect(grown.tables).toEqual(['gold.dim_category', FACT]);
    const grownDiff = await client.call('model.diff', { runId: grown.runId });
    const category = grownDiff.tables.find((t) => t.table === 'gold.dim_category');
    expect(category).toMatchObject({ key: ['category_slug'], added: 1, removed: 0, changed: 0 });
    expect(category?.rowsAfter).toBe((category?.rowsBefore ?? 0) + 1);
    expect(category?.addedExamples).toEqual([
      expect.objectContaining({ category_name: genre, category_slug: expect.stringMatching(/^thu-nghiem-/) }),
    ]);
    expect(grownDiff.tables.find((t) => t.table === FACT)).toMatchObject({
      added: 0,
      removed: 0,
      changed: 0,
    });
    let graph = await client.call('pipeline.graph');
    expect(graph.nodes.find((n) => n.model === FACT)?.dates).toEqual([last]);
    expect(graph.nodes.find((n) => n.model === 'gold.dim_category')?.dates).toEqual([last]);
    // The original SQL over every date: the fact's seeded orphans change back to their real platform;
    // the dimension keeps its new member (SCD1 never deletes), so it shows no change.
    const all = await client.call('model.apply', { model: 'gold.dim_category', text: categoryText });
    const diff = await client.call('model.diff', { runId: all.runId });
    expect(diff.tables.find((t) => t.table === 'gold.dim_category')).toMatchObject({
      added: 0,
      removed: 0,
      changed: 0,
    });
    const repaired = diff.tables.find((t) => t.table === FACT);
    expect(repaired).toMatchObject({
      added: 0,
      removed: 0,
      changed: SEEDED_ORPHANS,
      changedColumns: { platform_key: SEEDED_ORPHANS },
    });
    expect(repaired?.changedExamples.every((c) => c.before.platform_key === 999)).toBe(true);
    graph = await client.call('pipeline.graph');
    expect(graph.nodes.find((n) => n.model === FACT)?.dates).toEqual(dates);
    expect(graph.nodes.find((n) => n.model === 'gold.dim_category')?.dates).toEqual(dates);

    // A run that fails a test rolls its date back: nothing changed, and no SCD1 change was logged.
    const userFile = join(projectDir, 'models', 'gold', 'dim_user.sql');
    const userText = await readFile(userFile, 'utf8');
    const badType = userText.replace("ELSE 'registered' END", "ELSE 'member' END");
    expect(badType).not.toBe(userText);
    const failing = await client.call('model.apply', {
      model: 'gold.dim_user',
      text: badType,
      dates: [last],
    });
    const failedDiff = await client.call('model.diff', { runId: failing.runId });
    expect(failedDiff.status).toBe('failed');
    expect(failedDiff.tables.every((t) => t.added + t.removed + t.changed === 0)).toBe(true);
    const logged = await scalar(
      client,
      `SELECT count(*) FROM _lakehouse.scd1_changes WHERE run_id = '${failing.runId}'`,
    );
    expect(logged).toBe(0);
    // ... while the successful runs' changes carry their run ids.
    const fromRuns = await scalar(
      client,
      `SELECT count(*) FROM _lakehouse.scd1_changes JOIN _lakehouse.runs USING (run_id) WHERE status = 'success'`,
    );
    expect(fromRuns).toBeGreaterThan(0);
    const restored = await client.call('model.apply', { model: 'gold.dim_user', text: userText });
    expect((await client.call('model.diff', { runId: restored.runId })).status).toBe('success');

    const missing = await rejection(client.call('model.diff', { runId: 'no-such-run' }));
    expect(missing.code).toBe('INVALID_ARGUMENT');
  });

  it('model.diff names the columns a run added to or dropped from a table', async () => {
    const dateFile = join(projectDir, 'models', 'gold', 'dim_date.sql');
    const dateText = await readFile(dateFile, 'utf8');
    const renamed = dateText.replace('AS is_weekend', 'AS weekend');
    expect(renamed).not.toBe(dateText);
    // A table materialization is rebuilt whole: the renamed column is both added and dropped. The
    // original runs every date, as the suite's first test expects of the latest run of each model.
    for (const [text, runDates, added, removed] of [
      [renamed, [dates[3]!], ['weekend'], ['is_weekend']],
      [dateText, undefined, ['is_weekend'], ['weekend']],
    ] as const) {
      const started = await client.call('model.apply', {
        model: 'gold.dim_date',
        text,
        dates: runDates ? [...runDates] : undefined,
      });
      const diff = await client.call('model.diff', { runId: started.runId });
      expect(diff.status).toBe('success');
      expect(diff.tables.find((t) => t.table === 'gold.dim_date')).toMatchObject({
        addedColumns: added,
        removedColumns: removed,
        changed: 0,
      });
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakehouseError } from '../../engine/api/errors.ts';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { buildGraph, buildPartialGraph, selectModels } from '../../engine/graph/dependencies.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { model } from '../helpers/model-files.ts';

// What a bare or quoted name reads, as DuckDB binds it: a macro file's temp view (looked up before gold)
// reads what its query reads; a bare relationships `to:` naming nothing is refused up front; one quoted
// name holding a dot is no `layer.table`.

let db: Db;
beforeAll(async () => {
  db = await openDb();
  // As a project's macro file makes them once its tables exist: a view binds when it is created.
  await db.run(`CREATE SCHEMA gold; CREATE SCHEMA silver;
    CREATE TABLE silver.events (k INTEGER); CREATE TABLE silver.users (k INTEGER); CREATE TABLE gold.dim_a (k INTEGER);
    CREATE TEMP MACRO user_keys() AS TABLE SELECT k FROM silver.users;
    CREATE TEMP VIEW recent_events ("key") AS SELECT k FROM silver.events WHERE k > 0;
    CREATE TEMP VIEW "all keys" AS SELECT "key" FROM recent_events UNION ALL SELECT k FROM user_keys();
    CREATE TEMP VIEW dim_a AS SELECT k FROM silver.users;
    CREATE TEMP TABLE snapshot AS SELECT k FROM silver.events;
    SET search_path = 'gold,main'`);
});
afterAll(() => db.close());

const silver = [
  model('silver.events', 'SELECT 1 AS k', 'materialized: table'),
  model('silver.users', 'SELECT 1 AS k', 'materialized: table'),
];

describe("a macro file's temp view", () => {
  it('gives a model reading it the edges of what the view reads, through other views and macros too', async () => {
    const graph = await buildGraph(
      db,
      [
        model('gold.a_count', 'SELECT count(*) AS n FROM recent_events'),
        model('gold.a_all', 'SELECT count(*) AS n FROM temp.main."all keys"'),
        // The temp view of that name, not the gold model: DuckDB looks in temp first.
        model('gold.a_shadowed', 'SELECT count(*) AS n FROM dim_a'),
        model('gold.dim_a', 'SELECT 1 AS k'),
        // A temp table is a copy made when the project opened: nothing to follow.
        model('gold.a_snapshot', 'SELECT count(*) AS n FROM snapshot'),
        ...silver,
      ],
      [],
      [],
    );
    expect(graph.byId.get('gold.a_count')?.upstream).toEqual(['silver.events']);
    expect(graph.byId.get('gold.a_all')?.upstream.sort()).toEqual(['silver.events', 'silver.users']);
    expect(graph.byId.get('gold.a_shadowed')?.upstream).toEqual(['silver.users']);
    expect(graph.byId.get('gold.a_snapshot')?.upstream).toEqual([]);
    expect(selectModels(graph, ['silver.events+'])).toEqual(['silver.events', 'gold.a_all', 'gold.a_count']);
  });

  it('orders a reader after what the view reads, and a relationships test naming it likewise', async () => {
    const graph = await buildGraph(
      db,
      [
        // Ranked before silver by its name alone: the view's read puts it after silver.events.
        model('bronze.a_early', 'SELECT count(*) AS n FROM recent_events'),
        model(
          'gold.fact',
          'SELECT 1 AS k',
          'materialized: table\ntests:\n  - relationships: {column: k, to: recent_events, field: key}',
        ),
        ...silver,
      ],
      [],
      [],
    );
    const order = graph.nodes.map((n) => n.model.id);
    expect(order.indexOf('bronze.a_early')).toBeGreaterThan(order.indexOf('silver.events'));
    expect(graph.byId.get('gold.fact')?.upstream).toEqual(['silver.events']);
  });

  it('is named in the error when what it reads has no model any more', async () => {
    const error = await lakehouseFailure(
      buildGraph(db, [model('gold.report', 'SELECT * FROM recent_events')], [], []),
    );
    expect(error.message).toMatch(
      /^models\/gold\/report\.sql: reads silver\.events \(through the temp view recent_events\), which no model produces any more/,
    );
  });
});

describe("a bare name (a relationships test's to:, a FROM) naming nothing", () => {
  const fact = (to: string) =>
    model(
      'gold.fact',
      'SELECT 1 AS platform_key',
      `materialized: table\ntests:\n  - relationships: {column: platform_key, to: ${to}, field: platform_key}`,
    );
  const dims = [
    model('gold.dim_platform', 'SELECT 1 AS platform_key'),
    model('silver.plans_map', 'SELECT 1 AS k'),
  ];

  it('naming no model, table or temp view is refused when the project loads, with the closest model', async () => {
    const { errors } = await buildPartialGraph(db, [fact('dim_platfrm'), ...dims], [], []);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(LakehouseError);
    expect(errors[0]?.code).toBe('MODEL_INVALID');
    expect(errors[0]?.message).toBe(
      'models/gold/fact.sql:4: test "relationships: {column: platform_key, to: dim_platfrm, field: platform_key}" ' +
        'reads dim_platfrm, a name without a layer, so gold.dim_platfrm or a temp view of a macro file, and ' +
        'neither exists (did you mean "gold.dim_platform"?). Fix "to:" in the test with the table\'s layer ' +
        '(layer.table; gold models: gold.dim_platform, gold.fact), or add models/gold/dim_platfrm.sql.',
    );
    expect(errors[0]?.details).toMatchObject({ model: 'gold.fact', line: 4, relation: 'dim_platfrm' });
    // A silver model's name written bare is a gold table to DuckDB: the silver model is offered.
    const silverBare = await buildPartialGraph(db, [fact('plans_map'), ...dims], [], []);
    expect(silverBare.errors[0]?.message).toMatch(/\(did you mean "silver\.plans_map"\?\)/);
  });

  it("is refused in a model's SQL too, at its line; DuckDB's own views and a file path are left to DuckDB", async () => {
    const { errors } = await buildPartialGraph(
      db,
      [
        model('gold.report', 'SELECT count(*) AS n\nFROM dim_platfrm'),
        model('gold.catalog', "SELECT count(*) AS n FROM duckdb_tables, pg_tables, 'data/*'"),
        ...dims,
      ],
      [],
      [],
    );
    expect(errors.map((e) => e.message)).toEqual([
      'models/gold/report.sql:5: reads dim_platfrm, a name without a layer, so gold.dim_platfrm or a temp view ' +
        'of a macro file, and neither exists (did you mean "gold.dim_platform"?). Name the table with its layer ' +
        '(layer.table; gold models: gold.catalog, gold.dim_platform, gold.report), or add models/gold/dim_platfrm.sql.',
    ]);
  });

  it('is left alone while a macro file is broken: the temp view it names may be in that file', async () => {
    const broken = new LakehouseError('MODEL_SQL_ERROR', 'macros/views.sql:1: Parser Error', {
      file: 'macros/views.sql',
      macros: true,
    });
    const readers = [fact('dim_platfrm'), model('gold.report', 'SELECT count(*) AS n FROM dim_platfrm')];
    const { errors } = await buildPartialGraph(db, [...readers, ...dims], [], [], [broken]);
    expect(errors).toEqual([]);
  });
});

describe('one quoted name holding a dot', () => {
  it('naming a layer table is refused at its line: DuckDB binds it as one name, not layer.table', async () => {
    const error = await lakehouseFailure(
      buildGraph(db, [model('gold.report', 'SELECT count(*) AS n\nFROM "silver.events"'), ...silver], [], []),
    );
    expect(error.code).toBe('MODEL_INVALID');
    expect(error.message).toBe(
      'models/gold/report.sql:5: reads "silver.events", one quoted name, which DuckDB looks up as a table ' +
        'named silver.events in no layer, not as the table events of silver. Write silver.events unquoted, ' +
        'or quote each part: "silver"."events".',
    );
  });

  it('naming a file is no read of a model: no edge, no error', async () => {
    const graph = await buildGraph(
      db,
      [model('gold.report', `SELECT count(*) AS n FROM "events.parquet"`), ...silver],
      [],
      [],
    );
    expect(graph.byId.get('gold.report')?.upstream).toEqual([]);
  });
});

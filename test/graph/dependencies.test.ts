import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakehouseError } from '../../engine/api/errors.ts';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import {
  buildGraph,
  buildPartialGraph,
  parseSelector,
  referencedRelations,
  selectModels,
} from '../../engine/graph/dependencies.ts';
import { parseModelFile } from '../../engine/project/models.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { model } from '../helpers/model-files.ts';

let db: Db;
beforeAll(async () => {
  db = await openDb();
});
afterAll(() => db.close());

describe('dependencies come from the SQL itself', () => {
  it('finds tables in joins, subqueries and CTE bodies, but not CTE names', async () => {
    const relations = await referencedRelations(
      db,
      `WITH recent AS (SELECT * FROM silver.events WHERE x IN (SELECT id FROM gold.dim_a))
       SELECT * FROM recent r JOIN gold.dim_b b USING (id), LATERAL (SELECT 1 FROM source.raw) s
       WHERE EXISTS (SELECT 1 FROM bronze.log l WHERE l.id = r.id)`,
    );
    expect(relations).toEqual(['bronze.log', 'gold.dim_a', 'gold.dim_b', 'silver.events', 'source.raw']);
  });

  it('reports a parse error at the right line of the model file', async () => {
    const m = model('gold.broken', 'SELECT *\nFROM silver.a\nWHERE AND x');
    const error = await buildGraph(db, [m], [], []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LakehouseError);
    expect((error as LakehouseError).code).toBe('MODEL_SQL_ERROR');
    expect((error as LakehouseError).message).toMatch(/^models\/gold\/broken\.sql:6: /);
  });

  it.each([
    ['a second statement', 'SELECT 1 AS x;\nDELETE FROM gold.dim_date'],
    ['a second query', 'SELECT 1 AS x;\nSELECT 2 AS y;'],
    ['a statement other than a query', 'DELETE FROM gold.dim_date'],
  ])('says a model is one SELECT when it holds %s', async (_, sql) => {
    const error = await lakehouseFailure(buildGraph(db, [model('gold.semi', sql)], [], []));
    expect(error.code).toBe('MODEL_SQL_ERROR');
    expect(error.message).toBe(
      'models/gold/semi.sql: a model is one SELECT statement (WITH ..., FROM ... or VALUES too): the engine ' +
        'writes the rows it returns. Remove any other statement (DELETE, INSERT, CREATE, UPDATE, or a second ' +
        'one after a ;)',
    );
  });

  it('orders models upstream first and adds edges for relationship tests', async () => {
    const models = [
      model(
        'gold.fact',
        'SELECT * FROM silver.events',
        'materialized: table\ntests:\n  - relationships: {column: k, to: gold.dim, field: k}',
      ),
      model('gold.dim', 'SELECT * FROM silver.events'),
      model('silver.events', 'SELECT * FROM bronze.raw'),
      model('bronze.raw', 'SELECT * FROM source.feed'),
    ];
    const graph = await buildGraph(db, models, ['feed'], []);
    expect(graph.nodes.map((n) => n.model.id)).toEqual([
      'bronze.raw',
      'silver.events',
      'gold.dim',
      'gold.fact',
    ]);
    expect(graph.byId.get('gold.fact')?.upstream.sort()).toEqual(['gold.dim', 'silver.events']);
    expect(graph.byId.get('bronze.raw')?.sources).toEqual(['feed']);
    expect(selectModels(graph, ['silver.events+'])).toEqual(['silver.events', 'gold.dim', 'gold.fact']);
    expect(selectModels(graph, ['+dim'])).toEqual(['bronze.raw', 'silver.events', 'gold.dim']);
    expect(selectModels(graph, ['fact'])).toEqual(['gold.fact']);
    expect(() => selectModels(graph, ['nope+'])).toThrow(/No model named "nope"/);
    // Spaces around a selector (a quoted shell argument) are not part of the name.
    expect(selectModels(graph, [' silver.events+ '])).toEqual(['silver.events', 'gold.dim', 'gold.fact']);
  });

  it('parses selectors and refuses malformed ones with what a selector looks like', () => {
    expect(parseSelector('+Gold.Dim+')).toEqual({ name: 'gold.dim', up: true, down: true });
    expect(parseSelector(' dim ')).toEqual({ name: 'dim', up: false, down: false });
    for (const bad of ['x++', '++x', '+', '', 'a b', 'a+b']) {
      expect(() => parseSelector(bad)).toThrow(
        new RegExp(
          `^"${bad.replaceAll('+', '\\+')}" is no model selector: a selector is a model name, with one \\+ before it`,
        ),
      );
    }
  });

  it('reads a bare name as the gold table of that name, as the search path does', async () => {
    const models = [
      model(
        'gold.agg_device_daily',
        `WITH fact_customer_search AS (SELECT 1 AS platform_key)
         SELECT * FROM fact_customer_search JOIN dim_platform USING (platform_key) JOIN gold_notes USING (platform_key)`,
        'materialized: table\ntests:\n  - relationships: {column: platform_key, to: dim_user, field: k}',
      ),
      model('gold.dim_platform', 'SELECT 1 AS platform_key'),
      model('gold.dim_user', 'SELECT 1 AS k'),
      model('gold.fact_customer_search', 'SELECT 1 AS platform_key'),
    ];
    // A macro file's temp table: no model builds it, and it is no copy of one.
    await db.run('CREATE OR REPLACE TEMP TABLE gold_notes AS SELECT 1 AS platform_key');
    const graph = await buildGraph(db, models, [], []).finally(() => db.run('DROP TABLE temp.gold_notes'));
    // The CTE named like a gold model shadows it; a bare name a temp table answers to stays no edge.
    expect(graph.byId.get('gold.agg_device_daily')?.upstream.sort()).toEqual([
      'gold.dim_platform',
      'gold.dim_user',
    ]);
    const order = graph.nodes.map((n) => n.model.id);
    expect(order.indexOf('gold.agg_device_daily')).toBeGreaterThan(order.indexOf('gold.dim_platform'));
    expect(selectModels(graph, ['gold.dim_platform+'])).toEqual([
      'gold.dim_platform',
      'gold.agg_device_daily',
    ]);
  });

  it("reads a gold table in a CTE's own body and outside a subquery's CTE of its name", async () => {
    const relations = await referencedRelations(
      db,
      `WITH dim_platform AS (SELECT * FROM dim_platform WHERE platform_key <> 0),
            ok AS (SELECT * FROM dim_platform)
       SELECT *, (WITH dim_date AS (SELECT 1 AS d) SELECT count(*) FROM dim_date) AS n
       FROM ok, dim_date, (WITH RECURSIVE walk AS (SELECT 1 AS i UNION ALL SELECT i + 1 FROM walk WHERE i < 3)
                           SELECT * FROM walk)`,
    );
    expect(relations).toEqual(['dim_date', 'dim_platform']);
  });

  it("reads a name qualified by the warehouse's own catalog as the layer table", async () => {
    const database = await db.scalar<string>('SELECT current_database()');
    const relations = await referencedRelations(
      db,
      `SELECT * FROM "${database}".gold.dim_platform JOIN ${database}.Silver.Events USING (k), system.main.t`,
    );
    expect(relations).toEqual(['gold.dim_platform', 'silver.events', 'system.main.t']);
  });

  it('resolves reconcile_with to the partition model in any case, and refuses one that is no such model', async () => {
    const partition = (id: string, sql: string, reconcile?: string) =>
      model(id, sql, `materialized: partition${reconcile ? `\nreconcile_with: ${reconcile}` : ''}`);
    const bronze = partition('bronze.log', 'SELECT 1 AS k');
    const silver = partition('silver.events', 'SELECT 1 AS k', 'Bronze.LOG');
    const graph = await buildGraph(db, [silver, bronze], [], []);
    expect(silver.config.reconcile_with).toBe('bronze.log');
    expect(graph.byId.get('silver.events')?.upstream).toEqual(['bronze.log']);

    const misspelt = await lakehouseFailure(
      buildGraph(db, [partition('silver.events', 'SELECT 1 AS k', 'bronze.lgo'), bronze], [], []),
    );
    expect(misspelt.code).toBe('MODEL_INVALID');
    expect(misspelt.message).toBe(
      'models/silver/events.sql:3: reconcile_with: bronze.lgo names no model (did you mean "bronze.log"?). ' +
        'It must name the upstream partition model whose rows this one accounts for (partition models: ' +
        'bronze.log): fix the name, or remove reconcile_with.',
    );
    const table = await lakehouseFailure(
      buildGraph(
        db,
        [partition('silver.events', 'SELECT 1 AS k', 'gold.dim_k'), model('gold.dim_k', 'SELECT 1 AS k')],
        [],
        [],
      ),
    );
    expect(table.message).toMatch(
      /^models\/silver\/events\.sql:3: reconcile_with: gold\.dim_k names gold\.dim_k, which is materialized: table, not partition/,
    );
  });

  it('refuses a read of a layer table whose model file is gone', async () => {
    // A table left behind by a deleted model, as the warehouse would hold it.
    await db.run('CREATE SCHEMA IF NOT EXISTS gold; CREATE OR REPLACE TABLE gold.dim_gone AS SELECT 1 AS k');
    try {
      const readers: [string, string, string][] = [
        ['qualified', 'SELECT * FROM gold.dim_gone', 'materialized: table'],
        ['bare', 'SELECT * FROM dim_gone', 'materialized: table'],
        [
          'relationships test',
          'SELECT 1 AS k',
          'materialized: table\ntests:\n  - relationships: {column: k, to: gold.dim_gone, field: k}',
        ],
        ['keyword_match catalog', 'SELECT 1 AS k', 'materialized: keyword_match\ncatalog: gold.dim_gone'],
      ];
      for (const [how, sql, header] of readers) {
        const { errors } = await buildPartialGraph(db, [model('gold.fact', sql, header)], [], []);
        expect(errors, how).toHaveLength(1);
        expect(errors[0]?.code).toBe('MODEL_INVALID');
        expect(errors[0]?.message, how).toMatch(
          /^models\/gold\/fact\.sql: reads gold\.dim_gone, which no model produces any more \(there is no models\/gold\/dim_gone\.sql\).*`lakehouse drop <project> gold\.dim_gone` removes the old table\.$/,
        );
      }
      // A layer table no model builds and no table holds is named at its line, with the closest model.
      const { errors } = await buildPartialGraph(
        db,
        [model('silver.events', 'SELECT 1 AS k'), model('gold.fact', 'SELECT 1 AS evnts\nFROM silver.evnts')],
        [],
        [],
      );
      expect(errors.map((e) => e.message)).toEqual([
        'models/gold/fact.sql:5: reads silver.evnts, which no model builds and no table holds (did you mean ' +
          '"silver.events"?). Fix the name, or add models/silver/evnts.sql.',
      ]);
      // A bare name no temp view or gold table answers to too (test/graph/temp-views-and-names.test.ts).
      expect(
        (await buildPartialGraph(db, [model('gold.fact', 'SELECT * FROM evnts')], [], [])).errors[0]?.message,
      ).toMatch(/^models\/gold\/fact\.sql:4: reads evnts, a name without a layer/);
    } finally {
      await db.run('DROP TABLE gold.dim_gone');
    }
  });

  it('refuses a model file renamed in case only, whose table DuckDB takes for the old one', async () => {
    await db.run('CREATE SCHEMA IF NOT EXISTS silver; CREATE OR REPLACE VIEW silver.plans AS SELECT 1 AS k');
    try {
      const renamed = model('silver.Plans', 'SELECT 1 AS k', 'materialized: partition');
      const { graph, errors } = await buildPartialGraph(db, [renamed], [], []);
      expect(graph.nodes).toEqual([]);
      expect(errors.map((e) => e.message)).toEqual([
        "models/silver/Plans.sql: gives silver.Plans, but the warehouse holds that table as silver.plans (DuckDB's " +
          "names ignore case, the engine's records of its dates do not). Rename the file back to plans.sql, or " +
          'give the model another name; `lakehouse drop <project> silver.plans` then removes the old table.',
      ]);
      const same = model('silver.plans', 'SELECT 1 AS k', 'materialized: partition');
      expect((await buildPartialGraph(db, [same], [], [])).errors).toEqual([]);
    } finally {
      await db.run('DROP VIEW silver.plans');
    }
  });

  it('names the models of a cycle', async () => {
    const error = await buildGraph(
      db,
      [model('gold.a', 'SELECT * FROM gold.b'), model('gold.b', 'SELECT * FROM gold.a')],
      [],
      [],
    ).catch((e: unknown) => e);
    expect((error as LakehouseError).code).toBe('MODEL_CYCLE');
    expect((error as LakehouseError).message).toMatch(/gold\.a, gold\.b/);
  });

  it('leaves models it cannot order out of a partial graph, with an error each, and keeps the rest', async () => {
    const { graph, errors } = await buildPartialGraph(
      db,
      [
        model('bronze.raw', 'SELECT * FROM source.feed'),
        model('silver.events', 'SELECT * FROM bronze.raw'),
        model('gold.broken', 'SELECT *\nFORM silver.events'),
        model('gold.fact', 'SELECT * FROM silver.events JOIN gold.broken USING (k)'),
        model('gold.a', 'SELECT * FROM gold.b'),
        model('gold.b', 'SELECT * FROM gold.a'),
        model('gold.reads_cycle', 'SELECT * FROM gold.a'),
      ],
      ['feed'],
      [],
    );
    expect(errors.map((e) => [e.code, e.details.model ?? e.details.models])).toEqual([
      ['MODEL_SQL_ERROR', 'gold.broken'],
      ['MODEL_CYCLE', ['gold.a', 'gold.b']],
    ]);
    // The edge to the broken model is dropped; what reads the cycle cannot be ordered either.
    expect(graph.nodes.map((n) => n.model.id)).toEqual(['bronze.raw', 'silver.events', 'gold.fact']);
    expect(graph.byId.get('gold.fact')?.upstream).toEqual(['silver.events']);
  });

  it('rejects a source the project does not declare', async () => {
    const error = await buildGraph(
      db,
      [model('bronze.raw', 'SELECT * FROM source.nothere')],
      ['feed'],
      [],
    ).catch((e: unknown) => e);
    expect((error as LakehouseError).code).toBe('MODEL_INVALID');
    expect((error as LakehouseError).message).toMatch(/no source named "nothere"/);
  });
});

// The cycle's error said only "Models depend on each other in a cycle: gold.ca, gold.cb": no file, no
// direction, and nothing of an edge that no FROM makes (a relationships test, reconcile_with, catalog:).
describe('a cycle', () => {
  const tail = 'None of them can run first, as a model runs after what it reads: remove one of these reads.';

  it('says which model reads which, at which file line, and through what when not its FROM', async () => {
    const { errors } = await buildPartialGraph(
      db,
      [
        model('gold.fact', 'SELECT f.k\nFROM gold.dim AS f'),
        model(
          'gold.dim',
          'SELECT 1 AS k',
          'materialized: table\ntests:\n  - unique: k\n  - relationships: {column: k, to: gold.fact, field: k}',
        ),
      ],
      [],
      [],
    );
    expect(errors.map((e) => [e.code, e.message, e.details])).toEqual([
      [
        'MODEL_CYCLE',
        'Models gold.fact, gold.dim depend on each other in a cycle: gold.fact (models/gold/fact.sql:5) reads gold.dim and gold.dim ' +
          `(models/gold/dim.sql:5) reads gold.fact in its relationships test. ${tail}`,
        { models: ['gold.fact', 'gold.dim'], files: ['models/gold/fact.sql', 'models/gold/dim.sql'] },
      ],
    ]);
  });

  it('follows a loop of three models in read order, and names a reconcile_with edge', async () => {
    const { errors } = await buildPartialGraph(
      db,
      [
        model('gold.a', 'SELECT *\n\nFROM gold.b'),
        model('gold.b', 'SELECT * FROM gold.c'),
        model('gold.c', 'SELECT * FROM gold.a'),
        model('silver.x', 'SELECT 1 AS k', 'materialized: partition\nreconcile_with: silver.y'),
        model('silver.y', 'SELECT * FROM silver.x', 'materialized: partition'),
      ],
      [],
      [],
    );
    expect(errors.map((e) => e.message)).toEqual([
      'Models gold.a, gold.b, gold.c, silver.x, silver.y depend on each other in a cycle: gold.a (models/gold/a.sql:6) reads gold.b, gold.b ' +
        '(models/gold/b.sql:4) reads gold.c and gold.c (models/gold/c.sql:4) reads gold.a; and silver.x ' +
        '(models/silver/x.sql:3) reads silver.y to count its rows (reconcile_with:) and silver.y ' +
        `(models/silver/y.sql:4) reads silver.x. ${tail}`,
    ]);
  });
});

// A `to:` naming no table failed only when the run reached the test, after the date's other work, while
// the same misspelling in a FROM is refused when the project loads.
describe("a relationships test's table", () => {
  it('that no model builds and no table holds is refused when the graph is built, at the test, with the closest', async () => {
    const { errors } = await buildPartialGraph(
      db,
      [
        model('gold.dim_user', 'SELECT 1 AS user_id'),
        model(
          'gold.fact',
          'SELECT 1 AS user_id',
          'materialized: table\ntests:\n  - relationships: {column: user_id, to: gold.dim_usr, field: user_id}',
        ),
      ],
      [],
      [],
    );
    expect(errors.map((e) => [e.code, e.message, e.details])).toEqual([
      [
        'MODEL_INVALID',
        'models/gold/fact.sql:4: test "relationships: {column: user_id, to: gold.dim_usr, field: user_id}" reads ' +
          'gold.dim_usr, which no model builds and no table holds (did you mean "gold.dim_user"?). Fix "to:" in ' +
          'the test, or add models/gold/dim_usr.sql.',
        {
          file: 'models/gold/fact.sql',
          line: 4,
          model: 'gold.fact',
          test: 'relationships: {column: user_id, to: gold.dim_usr, field: user_id}',
          relation: 'gold.dim_usr',
        },
      ],
    ]);
  });

  it('that a model builds, in any case, is an edge, and no error', async () => {
    const { graph, errors } = await buildPartialGraph(
      db,
      [
        model('gold.dim_user', 'SELECT 1 AS user_id'),
        model(
          'gold.fact',
          'SELECT 1 AS user_id',
          'materialized: table\ntests:\n  - relationships: {column: user_id, to: Gold.Dim_User, field: user_id}',
        ),
      ],
      [],
      [],
    );
    expect(errors).toEqual([]);
    expect(graph.byId.get('gold.fact')?.upstream).toEqual(['gold.dim_user']);
  });
});

describe('a variable a model reads must be declared (it would read NULL otherwise)', () => {
  const calendar = (start: string) =>
    model(
      'gold.dim_date',
      `SELECT range AS d\n-- getvariable('in_a_comment')\nFROM range(getvariable('${start}')::DATE, getvariable('etl_date')::DATE, INTERVAL 1 DAY)`,
    );

  it('names the file and line, the variable, the closest and the declared ones', async () => {
    const error = await lakehouseFailure(
      buildGraph(db, [calendar('dim_date_start')], [], ['dim_date_strat', 'dim_date_end']),
    );
    expect(error.code).toBe('MODEL_INVALID');
    expect(error.message).toBe(
      "models/gold/dim_date.sql:6: getvariable('dim_date_start') reads a variable lakehouse.yaml does not " +
        'declare, so it would be NULL (did you mean "dim_date_strat"?). Declared under vars: dim_date_strat, ' +
        'dim_date_end (etl_date is set by the runner). Add it under vars: in lakehouse.yaml, or fix the name.',
    );
    expect(error.details).toMatchObject({ line: 6, variable: 'dim_date_start', model: 'gold.dim_date' });
  });

  it("accepts declared ones in any case, the runner's etl_date, comments and computed names", async () => {
    const computed = model(
      'gold.other',
      "SELECT getvariable('dim_' || 'x') AS v, 'getvariable(''nope'')' AS s",
    );
    const graph = await buildGraph(db, [calendar('DIM_DATE_START'), computed], [], ['dim_date_start']);
    expect(graph.nodes).toHaveLength(2);
  });
});

describe('model files', () => {
  const cases: [string, string, RegExp][] = [
    ['no header', 'SELECT 1', /missing config header/],
    ['bad yaml', '/* config\nmaterialized: [\n*/\nSELECT 1', /not valid YAML/],
    ['unknown materialization', '/* config\nmaterialized: magic\n*/\nSELECT 1', /materialized/],
    ['append without key', '/* config\nmaterialized: append\n*/\nSELECT 1', /needs unique_key/],
    ['bridge without settings', '/* config\nmaterialized: bridge\n*/\nSELECT 1', /needs bridge/],
    ['empty SQL', '/* config\nmaterialized: table\n*/\n  ', /has no SQL/],
  ];
  it.each(cases)('%s is rejected with a clear message', (_label, text, message) => {
    expect(() => parseModelFile('models/gold/x.sql', text, 'gold')).toThrow(message);
  });

  it('keeps the line where the SQL starts', () => {
    const m = parseModelFile(
      'models/gold/x.sql',
      '/* config\nmaterialized: table\n*/\n\n\nSELECT 1;\n',
      'gold',
    );
    expect(m).toMatchObject({ id: 'gold.x', sql: 'SELECT 1\n', sqlStartLine: 6 });
  });
});

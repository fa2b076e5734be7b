import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { buildGraph, selectModels } from '../../engine/graph/dependencies.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { model } from '../helpers/model-files.ts';

// The reads a graph finds beyond a model's own FROM (through a project macro's body, of a quarantine table,
// in a PIVOT), and the file line an error about a read names.

let db: Db;
beforeAll(async () => {
  db = await openDb();
  // A macro's body binds when it is created: the tables it reads exist, as in a project run before.
  await db.run(`CREATE SCHEMA gold; CREATE SCHEMA silver;
    CREATE TABLE gold.dim_a (k INTEGER); CREATE TABLE gold.dim_b (k INTEGER); CREATE TABLE gold.gone (k INTEGER);
    CREATE TEMP MACRO known_keys() AS TABLE SELECT k FROM gold.dim_a;
    CREATE TEMP MACRO lookup(u) AS (SELECT max(k) FROM gold.dim_b WHERE k = u);
    CREATE TEMP MACRO wrapped(u) AS lookup(u) + 1;
    CREATE TEMP MACRO left_over() AS TABLE SELECT k FROM gold.gone;`);
});
afterAll(() => db.close());

describe('reads the SQL does not name itself', () => {
  it("follows a project macro's body: a model calling it runs after what the macro reads, and m+ takes it", async () => {
    const graph = await buildGraph(
      db,
      [
        model('gold.a_report', 'SELECT count(*) AS n FROM known_keys()'),
        model('gold.a_scalar', 'SELECT wrapped(1) AS v'),
        model('gold.dim_a', 'SELECT 1 AS k'),
        model('gold.dim_b', 'SELECT 1 AS k'),
      ],
      [],
      [],
    );
    expect(graph.byId.get('gold.a_report')?.upstream).toEqual(['gold.dim_a']);
    // Through a scalar macro calling another whose subquery reads the table.
    expect(graph.byId.get('gold.a_scalar')?.upstream).toEqual(['gold.dim_b']);
    expect(graph.nodes.map((n) => n.model.id)).toEqual([
      'gold.dim_a',
      'gold.a_report',
      'gold.dim_b',
      'gold.a_scalar',
    ]);
    expect(selectModels(graph, ['gold.dim_a+'])).toEqual(['gold.dim_a', 'gold.a_report']);
  });

  it('names the macro when what it reads is a table no model builds any more', async () => {
    const error = await lakehouseFailure(
      buildGraph(db, [model('gold.report', 'SELECT * FROM left_over()')], [], []),
    );
    expect(error.code).toBe('MODEL_INVALID');
    expect(error.message).toMatch(
      /^models\/gold\/report\.sql: reads gold\.gone \(through its call of the macro left_over\), which no model produces any more/,
    );
  });

  it('reads a quarantine table after the partition model that writes it, not on its previous rows', async () => {
    const partition = (reason: string) =>
      `SELECT k, ${reason} AS _quarantine_reason FROM source.feed WHERE etl_date = getvariable('etl_date')`;
    const graph = await buildGraph(
      db,
      [
        model('silver.a_rejected', 'SELECT count(*) AS n FROM quarantine.events'),
        model('silver.events', partition("CASE WHEN k < 0 THEN 'negative' END"), 'materialized: partition'),
        // Its own quarantine table: the rows earlier dates rejected, no edge to itself.
        model(
          'silver.recheck',
          `${partition('NULL')} AND k NOT IN (SELECT k FROM quarantine.recheck)`,
          'materialized: partition',
        ),
      ],
      ['feed'],
      [],
    );
    expect(graph.byId.get('silver.a_rejected')?.upstream).toEqual(['silver.events']);
    expect(graph.byId.get('silver.recheck')?.upstream).toEqual([]);
    expect(graph.nodes.map((n) => n.model.id)).toEqual([
      'silver.events',
      'silver.a_rejected',
      'silver.recheck',
    ]);
  });

  it('says a PIVOT needs its IN list, not that a model holds another statement', async () => {
    const error = await lakehouseFailure(
      buildGraph(db, [model('gold.pivoted', 'PIVOT gold.dim_a ON k USING count(*)')], [], []),
    );
    expect(error.code).toBe('MODEL_SQL_ERROR');
    expect(error.message).toMatch(/^models\/gold\/pivoted\.sql: a PIVOT in a model must list the values/);
    // With the values listed it parses, and its read is found.
    const graph = await buildGraph(
      db,
      [
        model('gold.dim_a', 'SELECT 1 AS k'),
        model('gold.pivoted', 'PIVOT gold.dim_a ON k IN (1, 2) USING count(*)'),
      ],
      [],
      [],
    );
    expect(graph.byId.get('gold.pivoted')?.upstream).toEqual(['gold.dim_a']);
  });
});

describe('the line an error names', () => {
  it('is where the SQL reads the table, not where a comment or a string names it first', async () => {
    const sql = [
      "-- was gold.dim_usr before the rename, and 'silver.zz' below is a string",
      "SELECT 'reads silver.zz' AS note",
      'FROM (SELECT 1) AS x',
      '  JOIN gold.dim_usr USING (note)',
    ].join('\n');
    const error = await lakehouseFailure(buildGraph(db, [model('gold.reader', sql)], [], []));
    // Lines 1-3 are the header: the read is on the file's line 7.
    expect(error.message).toMatch(/^models\/gold\/reader\.sql:7: reads gold\.dim_usr, which no model builds/);
    expect(error.details.line).toBe(7);
    const itself = await buildGraph(
      db,
      [model('gold.dim_a', '-- appends to gold.dim_a\nSELECT k + 1 AS k\nFROM gold.dim_a')],
      [],
      [],
    );
    expect(itself.byId.get('gold.dim_a')?.readsItself).toEqual({ line: 6 });
  });
});

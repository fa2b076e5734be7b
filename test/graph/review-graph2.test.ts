import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { buildPartialGraph } from '../../engine/graph/dependencies.ts';
import { type Layer, parseModelFile } from '../../engine/project/models.ts';

let db: Db;
beforeAll(async () => {
  db = await openDb();
});
afterAll(() => db.close());

const model = (id: string, sql: string, header = 'materialized: table') => {
  const [layer, name] = id.split('.') as [Layer, string];
  return parseModelFile(`models/${layer}/${name}.sql`, `/* config\n${header}\n*/\n${sql}`, layer);
};

const tail = 'None of them can run first, as a model runs after what it reads: remove one of these reads.';

// The cycle's error said only "Models depend on each other in a cycle: gold.ca, gold.cb": no file, no
// direction, and nothing of an edge that no FROM makes (a relationships test, reconcile_with, catalog:).
describe('a cycle', () => {
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

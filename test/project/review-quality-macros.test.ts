import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Db, openDb } from '../../engine/db/duckdb.ts';
import { loadMacros } from '../../engine/project/macros.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// A TEMP macro takes the place of a DuckDB function of its name for every later statement on the
// connection, the engine's own included: a project's hash(x) made the facts' key record fail on a type.
describe('a macro named like a DuckDB function', () => {
  let root: string;
  let db: Db;
  beforeAll(async () => {
    root = await tempDir('lakehouse-macro-names-');
    await mkdir(join(root, 'macros'));
    await writeFile(
      join(root, 'macros', 'a.sql'),
      [
        '-- pseudonymised ids',
        'CREATE OR REPLACE TEMP MACRO hash(x) AS md5(x::VARCHAR);',
        'CREATE OR REPLACE TEMP MACRO "Lower"(x) AS 1;',
        'CREATE OR REPLACE TEMP MACRO temp.main.count_star() AS 1;',
        'CREATE OR REPLACE TEMP MACRO add1(x) AS x + 1;',
        'CREATE OR REPLACE TEMP MACRO slugify(s) AS lower(s);',
        '',
      ].join('\n'),
    );
    // A name made again in a later file finds the project's own macro, not DuckDB's: no refusal.
    await writeFile(join(root, 'macros', 'b.sql'), 'CREATE OR REPLACE TEMP MACRO add1(x) AS x + 10;\n');
    db = await openDb();
  });
  afterAll(async () => {
    db.close();
    await removeDir(root);
  });

  it('is refused at its line, and DuckDB keeps its function; the other macros load', async () => {
    const errors = await loadMacros(db, root);
    expect(errors.map((e) => [e.code, e.message, e.details])).toEqual(
      [
        [2, 'hash'],
        [3, 'Lower'],
        [4, 'count_star'],
      ].map(([line, macro]) => [
        'MODEL_SQL_ERROR',
        `macros/a.sql:${line}: macro ${macro} has the name of a DuckDB function, which it would replace in every ` +
          `model and in the engine's own SQL (its keys, hashes and counts): give it a name of its own, e.g. ` +
          `my_${macro}, and call it by that name`,
        { file: 'macros/a.sql', line, macros: true, macro },
      ]),
    );
    const [row] = await db.all<Record<string, unknown>>(
      `SELECT typeof(hash('a')) AS hashed, lower('A') AS lowered, (SELECT count(*) FROM range(3)) AS counted,
              add1(1) AS added, slugify('A B') AS slug`,
    );
    expect(row).toEqual({ hashed: 'UBIGINT', lowered: 'a', counted: 3, added: 11, slug: 'a b' });
    // Loaded again (a macro file edited in the app), the answers are the same.
    expect(await loadMacros(db, root)).toHaveLength(3);
  });
});

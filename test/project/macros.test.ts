import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../engine/engine.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { generatedProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';

// Project macros run on every connection the engine opens (the writer, the reader, each console reader)
// and read-only opens too: only a TEMP macro can be created there again and again.

let work: string;
let dir: string;
let dates: string[];
beforeAll(async () => {
  work = await tempDir('lakehouse-macros-');
  ({ dir, dates } = await generatedProject(work, 1, 200));
});
afterAll(() => removeDir(work));

/** The project with macros/m.sql holding `lines`. */
const macroFile = (...lines: string[]) => writeFile(join(dir, 'macros', 'm.sql'), `${lines.join('\n')}\n`);

describe('a macro file', () => {
  it.each([
    ['CREATE MACRO add1(x) AS x + 1;', 'CREATE MACRO add1'],
    ['create or replace  macro add1(x) AS x + 1;', 'create or replace macro add1'],
    ['CREATE FUNCTION add1(x) AS x + 1;', 'CREATE FUNCTION add1'],
  ])('creating a stored macro is refused before it runs, at its line: %s', async (statement, written) => {
    await macroFile(
      "-- CREATE MACRO in a comment; and 'quotes",
      "CREATE OR REPLACE TEMP MACRO said() AS 'CREATE MACRO x; CREATE MACRO y';",
      statement,
    );
    const error = await lakehouseFailure(createEngine({ projectDir: dir }));
    expect(error.code).toBe('MODEL_SQL_ERROR');
    expect(error.message).toBe(
      `macros/m.sql:3: ${written} creates a macro stored in the warehouse; write CREATE OR REPLACE TEMP ` +
        'MACRO add1(...) AS ... instead: macros are created for each session the engine opens, and the ' +
        'warehouse may be open read-only (query, tables, runs)',
    );
    expect(error.details).toEqual({ file: 'macros/m.sql', line: 3 });
  });

  it('of TEMP macros (with or without OR REPLACE) serves runs, read-only opens and reopens alike', async () => {
    await macroFile(
      '/* CREATE MACRO in a block comment; */ CREATE TEMP MACRO add1(x) AS x + 1;',
      "CREATE TEMPORARY MACRO said() AS 'a; CREATE MACRO b';",
      'CREATE OR REPLACE TEMP MACRO add2(x) AS add1(add1(x));',
      '-- a last comment, without a newline after it',
    );
    const check = async (engine: Awaited<ReturnType<typeof createEngine>>) => {
      const { rows } = await engine.query('SELECT add2(1) AS n, said() AS s');
      expect(rows).toEqual([{ n: 3, s: 'a; CREATE MACRO b' }]);
      const console = await engine.openReader();
      try {
        expect(await console.scalar('SELECT add1(1)')).toBe(2);
      } finally {
        console.close();
      }
    };
    await withEngine(dir, async (engine) => {
      expect((await engine.run({ dates })).status).toBe('success');
      await check(engine);
    });
    await withEngine(dir, check, true);
    await withEngine(dir, check);
  });

  it.each([
    // A parser error: DuckDB's LINE, which counts the file's lines.
    [['CREATE TEMP MACRO a(x) AS x + 1;', '', 'CREATE TEMP MACRO b(x) AS', '  x + FROM;'], 4, 'Parser Error'],
    [['CREATE TEMP MACRO a(x) AS x + 1;', '-- next', 'SELECT', '  nosuchfn(1);'], 4, 'Catalog Error'],
    // An error without a LINE: the line the statement starts on.
    [
      ['CREATE TEMP MACRO a(x) AS x + 1;', '-- again', 'CREATE TEMP MACRO', '  a(x) AS x + 2;'],
      3,
      'Catalog Error',
    ],
  ])('with an SQL error names the file and line', async (lines, line, kind) => {
    await macroFile(...lines);
    const error = await lakehouseFailure(createEngine({ projectDir: dir }));
    expect(error.code).toBe('MODEL_SQL_ERROR');
    expect(error.message).toMatch(new RegExp(`^macros/m\\.sql:${line}: ${kind}: `));
    expect(error.details).toEqual({ file: 'macros/m.sql', line });
  });
});

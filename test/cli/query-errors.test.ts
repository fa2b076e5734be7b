import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lakehouse } from '../helpers/cli.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// `lakehouse query` reads the SQL wrapped in `SELECT * FROM (...)`; its errors quote the SQL as typed.
describe('lakehouse query errors', () => {
  let work: string;
  let project: string;

  beforeAll(async () => {
    work = await tempDir('lakehouse-query-errors-');
    project = join(work, 'p');
    await mkdir(join(project, 'models', 'gold'), { recursive: true });
    await writeFile(join(project, 'lakehouse.yaml'), 'name: p\nsources: {}\n');
    await writeFile(
      join(project, 'models', 'gold', 'one_row.sql'),
      '/* config\nmaterialized: table\n*/\nSELECT 1 AS k\n',
    );
    const ran = lakehouse('run', project, '--date', '2022-06-01');
    expect(ran.code, ran.stderr).toBe(0);
  }, 120_000);
  afterAll(() => removeDir(work));

  it('quotes the SQL as typed, the caret under the unknown column or table', () => {
    const column = lakehouse('query', project, 'SELECT kk FROM one_row');
    expect(column.code).toBe(1);
    expect(column.stderr).toContain(
      'Referenced column "kk" not found in FROM clause!\nCandidate bindings: "k"\n\n' +
        'LINE 1: SELECT kk FROM one_row\n               ^\n',
    );
    const table = lakehouse('query', project, 'FROM one_rw', '--json');
    expect(table.code).toBe(1);
    expect(table.stderr).toContain('Did you mean gold.one_row?\n\nLINE 1: FROM one_rw\n             ^\n');
    expect(`${column.stderr}${table.stderr}`).not.toContain('__query');
    expect(`${column.stderr}${table.stderr}`).not.toContain('SELECT * FROM (');
  });
});

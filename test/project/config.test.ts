import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../engine/engine.ts';
import { loadProject } from '../../engine/project/config.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

let dir: string;
beforeAll(async () => {
  dir = await tempDir('lakehouse-config-');
});
afterAll(() => removeDir(dir));

const BASE = [
  'name: p',
  'sources:',
  '  log:',
  '    kind: daily_parquet',
  '    path: raw',
  '    columns: {id: VARCHAR}',
  '  titles:',
  '    kind: crawl',
  '    url: https://example.com/titles',
  '    paging: {type: cursor, cursor_path: next}',
];

/** lakehouse.yaml with `extra` lines after BASE, loaded. */
async function load(...extra: string[]) {
  await writeFile(join(dir, 'lakehouse.yaml'), [...BASE, ...extra, ''].join('\n'));
  return loadProject(dir);
}

/** The message of the error loading lakehouse.yaml as BASE with `edit` applied fails with. */
async function refusal(edit: (lines: string[]) => string[]): Promise<string> {
  await writeFile(join(dir, 'lakehouse.yaml'), [...edit([...BASE]), ''].join('\n'));
  const error = await lakehouseFailure(loadProject(dir));
  expect(error.code).toBe('PROJECT_INVALID');
  return error.message;
}

// A missing required key said zod's "Invalid input: expected record, received undefined".
describe('a required key missing from lakehouse.yaml is an error saying so, and what to add', () => {
  it('name, sources, and a source path', async () => {
    expect(await refusal((lines) => lines.slice(1))).toContain(
      'line 1: name: required, but not given: add e.g. `name: my-project`',
    );
    expect(await refusal((lines) => lines.slice(0, 1))).toContain(
      'line 1: sources: required, but not given: add `sources: {}` for a project without sources',
    );
    expect(await refusal((lines) => lines.filter((l) => l !== '    path: raw'))).toContain(
      'line 3: sources.log.path: required, but not given',
    );
  });
});

describe('a misspelt key in lakehouse.yaml is an error naming it, its line and the closest valid key', () => {
  it('at the top level (setings:)', async () => {
    const message = await refusal((lines) => [...lines, 'setings: {threads: 2}']);
    expect(message).toContain(
      'line 11: Unrecognized key: "setings" (did you mean "settings"?); valid keys: name,',
    );
  });

  it('inside a source', async () => {
    const message = await refusal((lines) => lines.map((l) => l.replace('    path: raw', '    pth: raw')));
    expect(message).toContain(
      'line 5: sources.log: Unrecognized key: "pth" (did you mean "path"?); valid keys: kind, path, date_format, columns',
    );
  });

  it('inside a crawl source paging block', async () => {
    const message = await refusal((lines) =>
      lines.map((l) => l.replace('cursor_path: next', 'cursor_path: next, parm: c')),
    );
    expect(message).toContain(
      'line 10: sources.titles.paging: Unrecognized key: "parm" (did you mean "param"?)',
    );
  });

  it('in the s3: block', async () => {
    const message = await refusal((lines) => [...lines, 's3:', '  regoin: eu-west-1']);
    expect(message).toContain('line 12: s3: Unrecognized key: "regoin" (did you mean "region"?)');
  });

  it('a publish kind (the targets themselves are the publishers to check)', async () => {
    const message = await refusal((lines) => [...lines, 'publish:', '  redshfit: {}']);
    expect(message).toContain('publish: Unrecognized key: "redshfit" (did you mean "redshift"?)');
    const project = await load('publish:', '  redshift:', '    prod: {kind: postgres, any_setting: 1}');
    expect(project.config.publish.redshift).toEqual({ prod: { kind: 'postgres', any_setting: 1 } });
  });

  it('a misspelt source kind, with the kind it resembles', async () => {
    const message = await refusal((lines) =>
      lines.map((l) => l.replace('kind: daily_parquet', 'kind: daily_parqet')),
    );
    expect(message).toContain(
      'line 4: sources.log.kind: "daily_parqet" is not valid (did you mean "daily_parquet"?)',
    );
  });
});

// Taken as a path, a malformed URI became a folder of the project named after the typo (./s3:/lake/p3).
describe('a YAML syntax error in lakehouse.yaml', () => {
  it('gives its line in the details, as a schema issue does', async () => {
    await writeFile(join(dir, 'lakehouse.yaml'), [...BASE, 'vars: [a, b', ''].join('\n'));
    const error = await lakehouseFailure(loadProject(dir));
    expect(error.message).toContain('is not valid YAML');
    expect(error.details).toMatchObject({ line: 12 });
  });
});

describe('a malformed URI in lakehouse.yaml is refused, naming the setting and the expected form', () => {
  it.each([
    ['lake', ['lake: s3:/lake/p3'], 's3:/lake/p3'],
    ['warehouse', ['warehouse: S3://b/warehouse.duckdb'], 'S3://b/warehouse.duckdb'],
    ['sources.log.path', [], 's3a://bucket/raw'],
  ])('%s', async (key, extra, uri) => {
    const lines = BASE.map((l) => (key.startsWith('sources') ? l.replace('path: raw', `path: ${uri}`) : l));
    await writeFile(join(dir, 'lakehouse.yaml'), [...lines, ...extra, ''].join('\n'));
    const error = await lakehouseFailure(loadProject(dir));
    expect(error.code).toBe('PROJECT_INVALID');
    expect(error.message).toContain(
      `${key}: ${uri} is neither an S3 URI nor a local path: expected s3://bucket/prefix`,
    );
  });
});

// zod's url() took localhost:9000 (scheme "localhost:"), and every run then failed as if the store were down.
describe('an s3.endpoint without http:// or https:// is refused, with the form expected', () => {
  it.each(['localhost:9000', '127.0.0.1:9000', 'ftp://minio.local'])('%s', async (endpoint) => {
    const message = await refusal((lines) => [...lines, 's3:', `  endpoint: ${endpoint}`]);
    expect(message).toContain(
      'line 12: s3.endpoint: expected an http:// or https:// URL, such as http://localhost:9000',
    );
  });

  it('http://localhost:9000 is taken', async () => {
    const project = await load('s3:', '  endpoint: http://localhost:9000');
    expect(project.config.s3.endpoint).toBe('http://localhost:9000');
  });
});

describe('vars: a variable the runner sets', () => {
  it('etl_date is refused: each run sets it to the date it runs, which would override it silently', async () => {
    const message = await refusal((lines) => [...lines, 'vars:', '  region: eu', '  etl_date: "1999-01-01"']);
    expect(message).toContain('line 13: vars.etl_date: etl_date is set by each run');
  });

  it('other variables are kept', async () => {
    expect((await load('vars: {region: eu}')).config.vars).toEqual({ region: 'eu' });
  });
});

// "lakehouse.yaml not found" for `lakehouse run demo/warehouse.duckdb` sent the user looking for a file
// that sits right beside the one they gave.
describe('empty sections, variables and files in lakehouse.yaml', () => {
  const write = (...lines: string[]) => writeFile(join(dir, 'lakehouse.yaml'), `${lines.join('\n')}\n`);

  // Every entry of a section commented out leaves it null in YAML: that was "expected record, received
  // null" and every command refused the project.
  it('reads a section whose entries are all commented out as empty', async () => {
    await write(
      'name: x',
      'sources:',
      '  logs:',
      '    kind: daily_parquet',
      '    path: data',
      '    columns:',
      '      # eventID: VARCHAR',
      '  titles:',
      '    kind: file',
      '    path: titles.csv',
      '    required_columns:',
      '    rename:',
      'vars:',
      '  # dim_date_start: "2022-01-01"',
      'settings:',
      '  # threads: 2',
      's3:',
      'publish:',
      '  redshift:',
    );
    const { config } = await loadProject(dir);
    expect(config.vars).toEqual({});
    expect(config.settings).toEqual({});
    expect(config.s3).toEqual({ cache_max_gb: 10, parallel: 16 });
    expect(config.publish).toEqual({ redshift: {}, iceberg: {} });
    expect(config.sources.logs).toMatchObject({ columns: {} });
    expect(config.sources.titles).toMatchObject({ required_columns: [], rename: {} });
  });

  it('says what a variable may be, at its line', async () => {
    await write('name: x', 'sources: {}', 'vars:', '  start:', '  range: {from: 1}');
    const error = await lakehouseFailure(loadProject(dir));
    expect(error.code).toBe('PROJECT_INVALID');
    expect(error.details.issues).toEqual([
      'line 4: vars.start: a variable is a string, a number or true/false (models read it with getvariable)',
      'line 5: vars.range: a variable is a string, a number or true/false (models read it with getvariable)',
    ]);
  });

  it('says an empty file is empty, and what it needs', async () => {
    await write('# nothing yet');
    const error = await lakehouseFailure(loadProject(dir));
    expect(error.message).toBe(
      `${join(dir, 'lakehouse.yaml')} is empty: it needs at least a name: and sources: (docs/projects.md lists ` +
        'every key), or run `lakehouse init <dir> --example customer-search` to start from the example.',
    );
  });
});

describe('a file given where the project folder goes', () => {
  it('is named as a file, with its folder when that folder is a project', async () => {
    await load();
    const warehouse = join(dir, 'warehouse.duckdb');
    await writeFile(warehouse, '');
    const error = await lakehouseFailure(loadProject(warehouse));
    expect(error.code).toBe('PROJECT_NOT_FOUND');
    expect(error.message).toBe(
      `${warehouse} is a file, not a project folder: give the folder that holds lakehouse.yaml, here ${dir}.`,
    );
    const loose = join(dir, 'loose');
    await mkdir(loose, { recursive: true });
    await writeFile(join(loose, 'notes.txt'), 'hi');
    expect((await lakehouseFailure(loadProject(join(loose, 'notes.txt')))).message).toBe(
      `${join(loose, 'notes.txt')} is a file, not a project folder: give the folder that holds lakehouse.yaml.`,
    );
    // A folder of a project (demo/models) named the project to give, not how to create another.
    expect((await lakehouseFailure(loadProject(loose))).message).toBe(
      `No project at ${loose}: it is a folder inside the project ${dir}. Give that folder, the one that holds lakehouse.yaml.`,
    );
    // A mistyped folder is said not to exist, rather than to lack lakehouse.yaml.
    const outside = await tempDir('lakehouse-no-project-');
    try {
      expect((await lakehouseFailure(loadProject(join(outside, 'dmeo')))).message).toBe(
        `No project at ${join(outside, 'dmeo')}: no such folder. Check the path (a project is the folder that ` +
          'holds lakehouse.yaml), or create one with `lakehouse init <dir> --example customer-search`.',
      );
      // A folder without the file, in no project, keeps saying how to create one.
      expect((await lakehouseFailure(loadProject(outside))).message).toMatch(
        /^No project at .*: lakehouse\.yaml not found\. Create one with `lakehouse init/,
      );
    } finally {
      await removeDir(outside);
    }
  });
});

// A lake or warehouse setting naming the wrong kind of thing failed later: a run with ENOTDIR blamed on
// the bronze model, every command with DuckDB's INTERNAL "not a valid DuckDB database file".
describe('lake and warehouse naming the wrong kind of thing', () => {
  it('a lake that is a file is refused when the project opens, naming the setting', async () => {
    await writeFile(join(dir, 'lake-file'), 'x');
    const error = await lakehouseFailure(load('lake: lake-file'));
    expect(error.code).toBe('PROJECT_INVALID');
    expect(error.message).toBe(
      `${join(dir, 'lakehouse.yaml')}: lake: ${join(dir, 'lake-file')} is a file, and the lake is a folder ` +
        '(or s3://bucket/prefix) that runs write partitions under: give a folder name there, or move the file away.',
    );
  });

  it.each([
    ['a folder', 'wh-folder', () => mkdir(join(dir, 'wh-folder'), { recursive: true })],
    [
      'a file but no DuckDB database',
      'wh.txt',
      () => writeFile(join(dir, 'wh.txt'), 'name: not a warehouse\n'),
    ],
  ])('a warehouse that is %s is refused, and left as it is', async (what, name, make) => {
    await make();
    await mkdir(join(dir, 'models', 'gold'), { recursive: true });
    await writeFile(
      join(dir, 'models', 'gold', 'one.sql'),
      '/* config\nmaterialized: table\n*/\nSELECT 1 AS x\n',
    );
    await load(`warehouse: ${name}`);
    for (const readOnly of [false, true]) {
      const error = await lakehouseFailure(createEngine({ projectDir: dir, readOnly }));
      expect(error.code).toBe('PROJECT_INVALID');
      expect(error.message).toBe(
        `warehouse: ${join(dir, name)} in lakehouse.yaml is ${what}, so the gold tables and run history cannot ` +
          "live there (it was left as it is): point warehouse at the project's own warehouse file, or at a new " +
          'file name to start a new warehouse.',
      );
    }
    if (name === 'wh.txt') expect(await readFile(join(dir, name), 'utf8')).toBe('name: not a warehouse\n');
  });
});

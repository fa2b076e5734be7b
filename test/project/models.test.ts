import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LakehouseError } from '../../engine/api/errors.ts';
import { headerColumnError } from '../../engine/materializations/context.ts';
import { loadModels, modelBody, parseModelFile } from '../../engine/project/models.ts';
import { modelFileFailure } from '../helpers/model-files.ts';
import { generatedProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';

/** The LakehouseError parsing `text` as models/gold/dim_user.sql throws. */
const parseFailure = (text: string) => modelFileFailure(text, 'models/gold/dim_user.sql');

describe('a misspelt key in a model config header is an error, not ignored', () => {
  it('at the top level: names the key, the file and its line, and the key it resembles', () => {
    const error = parseFailure(
      '/* config\nmaterialized: scd1\nunique_key: user_id\nuniqe_key: foo\n*/\nSELECT 1 AS user_id',
    );
    expect(error.code).toBe('MODEL_INVALID');
    expect(error.message).toMatch(/^models\/gold\/dim_user\.sql:4: invalid config:/);
    expect(error.message).toContain('line 4: Unrecognized key: "uniqe_key" (did you mean "unique_key"?)');
    expect(error.message).toMatch(/valid keys: materialized, description, unique_key, .*tests/);
    expect(error.details).toMatchObject({ file: 'models/gold/dim_user.sql', line: 4 });
  });

  it('inside a nested block (bridge)', () => {
    const error = parseFailure(
      '/* config\nmaterialized: bridge\nsurrogate_key: k\nbridge:\n  entity: user_id\n  membr: plan\n*/\nSELECT 1',
    );
    expect(error.message).toContain(
      'line 6: bridge: Unrecognized key: "membr" (did you mean "member"?); valid keys: entity, member',
    );
  });

  it('a misspelt option, with the option it resembles', () => {
    const error = parseFailure('/* config\nmaterialized: tabel\n*/\nSELECT 1');
    expect(error.message).toContain('line 2: materialized: "tabel" is not valid (did you mean "table"?)');
  });

  it('keeps the line of each header key, for later checks to point at', () => {
    const model = parseModelFile(
      'models/gold/dim_user.sql',
      '/* config\nmaterialized: scd1\nunique_key: user_id\nmerge:\n  last_search_dt: greatest\n*/\nSELECT 1',
      'gold',
    );
    expect(model.configLines).toMatchObject({ unique_key: 3, merge: 4, 'merge.last_search_dt': 5 });
  });
});

describe('a data test entry that is wrong says which entry, as written, and what it should be', () => {
  const header = (tests: string, materialized = 'table') =>
    `/* config\nmaterialized: ${materialized}\ntests:\n  - not_null: user_id\n${tests}\n*/\nSELECT 1 AS user_id`;

  it('an unknown test name: lists the tests and the closest', () => {
    const error = parseFailure(header('  - uniqe: user_id'));
    expect(error.message).toContain(
      'line 5: tests.1: "uniqe" is not a test (did you mean "unique"?); ' +
        'tests: not_null, unique, accepted_values, relationships, scd_invariants ' +
        '(the test as written: { uniqe: user_id })',
    );
  });

  it('a misspelt setting of a test (severty) instead of leaving it at error', () => {
    const error = parseFailure(header('  - unique: user_id\n    severty: warn'));
    expect(error.message).toContain(
      'line 6: tests.1: Unrecognized key: "severty" (did you mean "severity"?); valid keys: unique, severity',
    );
  });

  it('accepted_values with value: for values:, once, not also as a missing values:', () => {
    const error = parseFailure(
      header('  - accepted_values: {column: user_type, value: [guest, registered]}'),
    );
    expect(error.details.issues).toEqual([
      'line 5: tests.1.accepted_values: Unrecognized key: "value" (did you mean "values"?); valid keys: column, values ' +
        '(the test as written: { accepted_values: { column: user_type, value: [ guest, registered ] } })',
    ]);
  });

  it.each([
    [
      'an empty values list, which would fail every row',
      '[]',
      'tests.1.accepted_values.values: list at least one value',
    ],
    [
      'a NULL value, which the test never sees',
      '[a, null]',
      'tests.1.accepted_values.values.1: a value is a string or a number (NULL always passes: add a not_null test for it)',
    ],
  ])('accepted_values with %s', (_, values, message) => {
    const error = parseFailure(header(`  - accepted_values: {column: user_type, values: ${values}}`));
    expect(error.message).toContain(`line 5: ${message}`);
  });

  it('still reads every kind of test', () => {
    const model = parseModelFile(
      'models/gold/x.sql',
      header(
        [
          '  - unique: [a, b]',
          '    severity: warn',
          '  - accepted_values: {column: t, values: [x, 1]}',
          '  - relationships: {column: k, to: gold.dim, field: k}',
          '  - scd_invariants: true',
        ].join('\n'),
        'scd2\nunique_key: user_id',
      ),
      'gold',
    );
    expect(model.config.tests).toEqual([
      { not_null: ['user_id'], severity: 'error' },
      { unique: ['a', 'b'], severity: 'warn' },
      { accepted_values: { column: 't', values: ['x', 1] }, severity: 'error' },
      { relationships: { column: 'k', to: 'gold.dim', field: 'k' }, severity: 'error' },
      { scd_invariants: true, severity: 'error' },
    ]);
  });
});

// `- unique: a` then `not_null: a` without its own `- ` is one list item with two tests; it said
// `Unrecognized key: "unique"; valid keys: not_null, severity`, as if unique were no test.
describe('two tests written in one list item', () => {
  it('says one test per item, and to start the second with its own "- ", at its line', () => {
    const error = modelFileFailure(
      '/* config\nmaterialized: table\ntests:\n  - unique: a\n    not_null: a\n*/\nSELECT 1 AS a',
    );
    expect(error.code).toBe('MODEL_INVALID');
    expect(error.message).toBe(
      'models/gold/m.sql:5: invalid config:\n  line 5: tests.0.not_null: "unique" and "not_null" are two tests ' +
        'in one list item, and an item holds one test: start not_null: with its own "- ", as unique: has ' +
        '(the test as written: { unique: a, not_null: a })',
    );
    expect(error.details).toMatchObject({ file: 'models/gold/m.sql', line: 5, model: 'gold.m' });
  });

  it('names them in the order written', () => {
    const error = modelFileFailure(
      '/* config\nmaterialized: table\ntests:\n  - not_null: a\n    severity: warn\n    unique: a\n*/\nSELECT 1 AS a',
    );
    expect(error.message).toContain(
      'line 6: tests.0.unique: "not_null" and "unique" are two tests in one list item',
    );
  });
});

describe('a setting the materialization would ignore is refused, at its line', () => {
  it('unknown_member without surrogate_key (the unknown member is the row with key 0)', () => {
    const error = parseFailure(
      '/* config\nmaterialized: scd1\nunique_key: platform\nunknown_member: {platform: null}\n*/\nSELECT 1',
    );
    expect(error.code).toBe('MODEL_INVALID');
    expect(error.message).toMatch(/^models\/gold\/dim_user\.sql:4: invalid config:/);
    expect(error.message).toContain('line 4: unknown_member: unknown_member needs surrogate_key');
    expect(error.details).toMatchObject({ file: 'models/gold/dim_user.sql', line: 4 });
  });

  it.each(['table', 'scd1\nunique_key: user_id', 'append\nunique_key: user_id'])(
    'scd_invariants on materialized: %s (it checks scd2 and bridge history)',
    (materialized) => {
      const error = parseFailure(
        `/* config\nmaterialized: ${materialized}\ntests:\n  - not_null: user_id\n  - scd_invariants: true\n*/\nSELECT 1`,
      );
      expect(error.code).toBe('MODEL_INVALID');
      const line = materialized.includes('\n') ? 6 : 5;
      expect(error.message).toContain(
        `line ${line}: tests.1: scd_invariants applies to materialized: scd2 and bridge models only`,
      );
      expect(error.details).toMatchObject({ line });
    },
  );

  it.each([
    ['partition', 'surrogate_key: event_key', 'surrogate_key', 'scd1, scd2, bridge, table, append read it'],
    [
      'partition',
      'unique_key: platform',
      'unique_key',
      'append, scd1, scd2, table read it); to check a key is unique',
    ],
    [
      'append\nunique_key: event_id',
      'unknown_member: {event_id: null}',
      'unknown_member',
      'scd1, table read it',
    ],
    ['scd2\nunique_key: user_id', 'merge: {plan: least}', 'merge', 'scd1 reads it'],
    ['scd1\nunique_key: user_id', 'tracked: [plan]', 'tracked', 'scd2 reads it'],
    ['append\nunique_key: event_id', 'reconcile_with: silver.events', 'reconcile_with', 'partition reads it'],
    ['table', 'deduplicate: {key: event_id}', 'deduplicate', 'partition reads it'],
    ['scd1\nunique_key: x\nsurrogate_key: k', 'catalog: source.titles', 'catalog', 'keyword_match reads it'],
  ])('materialized: %s with %s (it would be dropped without a word)', (materialized, setting, key, users) => {
    const error = parseFailure(`/* config\nmaterialized: ${materialized}\n${setting}\n*/\nSELECT 1`);
    expect(error.code).toBe('MODEL_INVALID');
    const line = materialized.split('\n').length + 2;
    expect(error.message).toContain(
      `line ${line}: ${key}: does nothing for materialized: ${materialized.split('\n')[0]} (only ${users}`,
    );
    expect(error.message).toContain('remove it, or change materialized');
  });
});

describe('a config header without its closing */', () => {
  it('is reported as not closed (not missing), with the example on real lines', () => {
    const error = parseFailure('/* config\nmaterialized: table\nSELECT 1 AS user_id');
    expect(error.message).toBe(
      'models/gold/dim_user.sql: the config header is not closed: end it with */ on its own line before ' +
        'the SQL, like this:\n/* config\nmaterialized: table\n*/',
    );
  });

  it('after line comments is a header, at its real lines', () => {
    const model = parseModelFile(
      'models/gold/dim_user.sql',
      '-- Users, one row each\n-- (owned by the growth team)\n/* config\nmaterialized: table\n*/\nSELECT 1 AS x',
      'gold',
    );
    expect(model.config.materialized).toBe('table');
    expect(model.sqlStartLine).toBe(6);
  });

  it('after SQL, or misspelt, is named as such', () => {
    expect(parseFailure('SELECT 2;\n/* config\nmaterialized: table\n*/\nSELECT 1').message).toBe(
      'models/gold/dim_user.sql: the config header must come first in the file, and line 2 has it after other ' +
        'text: move it to the top, like this:\n/* config\nmaterialized: table\n*/',
    );
    expect(parseFailure('/* confg\nmaterialized: table\n*/\nSELECT 1').message).toBe(
      'models/gold/dim_user.sql: the comment the file starts with is not a config header: start it with ' +
        '/* config (spelt so), like this:\n/* config\nmaterialized: table\n*/',
    );
  });

  it('and a file without any header shows the example on real lines too', () => {
    expect(parseFailure('SELECT 1').message).toBe(
      'models/gold/dim_user.sql: missing config header. Start the file with a block like:\n' +
        '/* config\nmaterialized: table\n*/',
    );
  });

  it('running on to a comment in the SQL: the YAML error at its file line asks whether it is closed', () => {
    const error = parseFailure('\n/* config\nmaterialized: table\nSELECT 1 /* one */ AS user_id');
    expect(error.message).toMatch(/^models\/gold\/dim_user\.sql:4: config header is not valid YAML: /);
    expect(error.message).toMatch(/\nIs the header closed with \*\/ before the SQL\?$/);
  });
});

describe('a model header', () => {
  // It said "invalid config: Invalid input: expected object, received null", with no line and nothing to add.
  it('that is empty says so at its line, with a header to copy', () => {
    const error = modelFileFailure('-- a title\n/* config\n  # to do\n*/\nSELECT 1 AS a');
    expect(error.code).toBe('MODEL_INVALID');
    expect(error.message).toBe(
      'models/gold/m.sql:2: the config header is empty: it needs at least materialized:, like this:\n' +
        '/* config\nmaterialized: table\n*/',
    );
    expect(error.details).toMatchObject({ file: 'models/gold/m.sql', line: 2, model: 'gold.m' });
  });

  // Both said "Invalid input" alone.
  it.each([
    ['unique_key: 2022', 'materialized: scd1\nunique_key: 2022', 'line 3: unique_key'],
    ['not_null: {a: 1}', 'materialized: table\ntests:\n  - not_null: {a: 1}', 'line 4: tests.0.not_null'],
  ])('with %s says a column name is wanted', (_, header, where) => {
    const error = modelFileFailure(`/* config\n${header}\n*/\nSELECT 1 AS a`);
    expect(error.message).toContain(
      `${where}: give a column name, or a list of them such as [a, b] (quote a name YAML reads as a number: "2022")`,
    );
  });
});

describe('header settings naming a column the model does not output', () => {
  const dimUser = (header: string) =>
    parseModelFile('models/gold/dim_user.sql', `/* config\n${header}\n*/\nSELECT 1`, 'gold');
  const columns = ['user_id', 'user_type', 'first_search_dt', 'last_search_dt'];

  it('unique_key: points at the header field, names the column and the model columns', () => {
    const error = headerColumnError(dimUser('materialized: scd1\nunique_key: user_idd'), columns);
    expect(error?.code).toBe('MODEL_INVALID');
    expect(error?.message).toBe(
      'models/gold/dim_user.sql:3: unique_key names the column "user_idd", which the model does not output ' +
        '(did you mean "user_id"?). The model\'s columns: user_id, user_type, first_search_dt, last_search_dt. ' +
        "Fix the header, or the model's SELECT.",
    );
    expect(error?.details).toMatchObject({ field: 'unique_key', column: 'user_idd', line: 3, columns });
  });

  it('a merge rule for a misspelt column, at its own line', () => {
    const error = headerColumnError(
      dimUser(
        'materialized: scd1\nunique_key: user_id\nmerge:\n  last_search_dt: greatest\n  first_serch_dt: least',
      ),
      columns,
    );
    expect(error?.message).toMatch(
      /^models\/gold\/dim_user\.sql:6: merge\.first_serch_dt names the column "first_serch_dt", which the model does not output \(did you mean "first_search_dt"\?\)/,
    );
  });

  // The merge's insert then named the column twice: a raw binder error blamed on the model's SQL.
  it('a surrogate key a history or scd1 model outputs itself, not one an append reads', () => {
    const withKey = [...columns, 'user_key'];
    const error = headerColumnError(
      dimUser('materialized: scd1\nunique_key: user_id\nsurrogate_key: user_key'),
      withKey,
    );
    expect(error?.message).toBe(
      'models/gold/dim_user.sql:4: surrogate_key names "user_key", which the model outputs too: a scd1 ' +
        "model's surrogate keys are the engine's to hand out. Leave the column out of the SELECT (SELECT * " +
        'EXCLUDE ("user_key")), or name the surrogate key otherwise.',
    );
    expect(
      headerColumnError(
        dimUser('materialized: append\nunique_key: user_id\nsurrogate_key: user_key'),
        withKey,
      ),
    ).toBeUndefined();
  });

  it('a merge rule on a key column', () => {
    const error = headerColumnError(
      dimUser('materialized: scd1\nunique_key: user_id\nmerge: {user_id: least}'),
      columns,
    );
    expect(error?.message).toMatch(
      /^models\/gold\/dim_user\.sql:4: merge\.user_id: "user_id" is a key column/,
    );
  });

  it('list items of tracked, bridge columns and unknown members', () => {
    const line = (header: string) => headerColumnError(dimUser(header), columns)?.details;
    expect(
      line('materialized: scd2\nunique_key: user_id\ntracked:\n  - user_type\n  - plan_set'),
    ).toMatchObject({
      line: 6,
      field: 'tracked',
      column: 'plan_set',
    });
    expect(
      line('materialized: bridge\nsurrogate_key: k\nbridge:\n  entity: user_id\n  member: plan_key'),
    ).toMatchObject({ line: 6, field: 'bridge.member', column: 'plan_key' });
    expect(
      line('materialized: scd1\nunique_key: user_id\nsurrogate_key: k\nunknown_member: {user_tpe: unknown}'),
    ).toMatchObject({
      line: 5,
      field: 'unknown_member.user_tpe',
    });
  });

  it('accepts what the model outputs, key names in any case (DuckDB binds them so)', () => {
    const model = dimUser(
      'materialized: scd1\nunique_key: [USER_ID]\nsurrogate_key: k\nmerge: {first_search_dt: least}\nunknown_member: {user_type: unknown}',
    );
    expect(headerColumnError(model, columns)).toBeUndefined();
  });
});

describe("the end of a model's SQL", () => {
  it.each([
    ['SELECT 1', 'SELECT 1\n'],
    ['SELECT 1;\n\n', 'SELECT 1\n'],
    ['SELECT 1 -- the last line is a comment', 'SELECT 1 -- the last line is a comment\n'],
    ['SELECT 1; -- a comment after the semicolon\n', 'SELECT 1 -- a comment after the semicolon\n'],
    ["SELECT ';' AS x", "SELECT ';' AS x\n"],
    ["SELECT '--' AS x;", "SELECT '--' AS x\n"],
    ['SELECT 1 /* ; */', 'SELECT 1 /* ; */\n'],
    ['SELECT 1; /* done; */', 'SELECT 1 /* done; */\n'],
  ])('%j is wrapped as %j', (text, body) => {
    expect(modelBody(text)).toBe(body);
  });

  it('a comment or a semicolon after the last line runs like any model', async () => {
    const work = await tempDir('lakehouse-model-end-');
    try {
      const { dir, dates } = await generatedProject(work, 1, 300);
      // Every model of the example, of every materialization, ends with a semicolon and a comment.
      for (const layer of ['bronze', 'silver', 'gold']) {
        for (const file of await readdir(join(dir, 'models', layer))) {
          const path = join(dir, 'models', layer, file);
          await writeFile(path, `${(await readFile(path, 'utf8')).trimEnd()};\n-- reviewed\n`);
        }
      }
      await withEngine(dir, async (engine) => {
        const summary = await engine.run({ dates });
        expect(summary.error?.message).toBeUndefined();
        expect(summary.status).toBe('success');
      });
    } finally {
      await removeDir(work);
    }
  });
});

describe('where model files are read from', () => {
  /** A project whose models/ holds `files` (path under models/ → SQL), loaded. */
  const loaded = async (files: Record<string, string>) => {
    const dir = await tempDir('lakehouse-model-files-');
    try {
      for (const [path, sql] of Object.entries(files)) {
        const file = join(dir, 'models', path);
        await mkdir(join(file, '..'), { recursive: true });
        await writeFile(file, `/* config\nmaterialized: table\n*/\n${sql}`);
      }
      return await loadModels(dir);
    } finally {
      await removeDir(dir);
    }
  };

  it('a subfolder of a layer folder belongs to that layer, and .SQL is a model file', async () => {
    const { models, errors } = await loaded({
      'gold/dim.sql': 'SELECT 1 AS a',
      'gold/marts/mart.sql': 'SELECT 2 AS a',
      'gold/Upper.SQL': 'SELECT 3 AS a',
      'gold/notes.md': 'not a model',
    });
    expect(errors).toEqual([]);
    expect(models.map((m) => [m.id, m.file])).toEqual([
      ['gold.Upper', 'models/gold/Upper.SQL'],
      ['gold.dim', 'models/gold/dim.sql'],
      ['gold.mart', 'models/gold/marts/mart.sql'],
    ]);
  });

  it('two files giving one model: an error naming both', async () => {
    const { models, errors } = await loaded({
      'gold/m.sql': 'SELECT 1 AS a',
      'gold/marts/M.sql': 'SELECT 2 AS a',
    });
    expect(models.map((m) => m.file)).toEqual(['models/gold/m.sql']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: 'MODEL_INVALID',
      message: expect.stringMatching(
        /^models\/gold\/marts\/M\.sql: model gold\.M is also given by models\/gold\/m\.sql;/,
      ),
      details: { files: ['models/gold/m.sql', 'models/gold/marts/M.sql'] },
    });
  });

  it('a folder or model file under models/ outside the layers is named, with the layers', async () => {
    const { models, errors } = await loaded({
      'gold/dim.sql': 'SELECT 1 AS a',
      'staging/s.sql': 'SELECT 1 AS a',
      'loose.sql': 'SELECT 1 AS a',
    });
    expect(models.map((m) => m.id)).toEqual(['gold.dim']);
    expect(errors.map((e) => [e.code, e.message]).sort()).toEqual([
      [
        'PROJECT_INVALID',
        'models/loose.sql: not in a layer folder, so no model is read from it. Models go in ' +
          'models/bronze/, models/silver/, models/gold/ (subfolders of a layer folder belong to that layer); ' +
          'move it into one of them',
      ],
      [
        'PROJECT_INVALID',
        'models/staging/: not in a layer folder, so no model is read from it. Models go in ' +
          'models/bronze/, models/silver/, models/gold/ (subfolders of a layer folder belong to that layer); ' +
          'move its files into one of them',
      ],
    ]);
  });

  it('only a folder outside the layers: no models, and the folder is named', async () => {
    await expect(loaded({ 'staging/s.sql': 'SELECT 1 AS a' })).rejects.toMatchObject({
      code: 'PROJECT_INVALID',
      message: expect.stringContaining('\nmodels/staging/: not in a layer folder'),
    });
  });
});

describe('role: outside gold', () => {
  // The star schema and publishing are gold's; a role on a bronze or silver model drew it in the diagram.
  it.each([
    ['silver', 'partition'],
    ['bronze', 'partition'],
    ['silver', 'keyword_match\ncatalog: source.titles'],
  ] as const)('is refused on a %s model (materialized: %s), at its line', (layer, materialized) => {
    const file = `models/${layer}/events.sql`;
    const text = `-- events\n/* config\nmaterialized: ${materialized}\nrole: fact\n*/\nSELECT 1 AS id`;
    let error: unknown;
    try {
      parseModelFile(file, text, layer);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LakehouseError);
    const failure = error as LakehouseError;
    const line = materialized.split('\n').length + 3;
    expect(failure.code).toBe('MODEL_INVALID');
    expect(failure.message).toContain(`${file}:${line}: invalid config:`);
    expect(failure.message).toContain(
      `line ${line}: role: is for gold models (the star schema and publishing read it), and ${layer}.events is ${layer}`,
    );
    expect(failure.details).toMatchObject({ file, line, model: `${layer}.events` });
  });

  it('is kept on a gold model', () => {
    const model = parseModelFile(
      'models/gold/fact_events.sql',
      '/* config\nmaterialized: table\nrole: fact\n*/\nSELECT 1 AS id',
      'gold',
    );
    expect(model.config.role).toBe('fact');
  });
});

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadProject } from '../../engine/project/config.ts';
import { lakehouseFailure } from '../helpers/errors.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

describe('lakehouse.yaml', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempDir('lakehouse-config-review-');
  });
  afterAll(() => removeDir(dir));

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

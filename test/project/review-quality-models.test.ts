import { describe, expect, it } from 'vitest';
import { LakehouseError } from '../../engine/api/errors.ts';
import { parseModelFile } from '../../engine/project/models.ts';

/** The error parsing `text` as models/gold/m.sql throws. */
function parseFailure(text: string): LakehouseError {
  try {
    parseModelFile('models/gold/m.sql', text, 'gold');
  } catch (error) {
    if (error instanceof LakehouseError) return error;
    throw error;
  }
  throw new Error('expected the model file to be refused');
}

describe('a model header', () => {
  // It said "invalid config: Invalid input: expected object, received null", with no line and nothing to add.
  it('that is empty says so at its line, with a header to copy', () => {
    const error = parseFailure('-- a title\n/* config\n  # to do\n*/\nSELECT 1 AS a');
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
    const error = parseFailure(`/* config\n${header}\n*/\nSELECT 1 AS a`);
    expect(error.message).toContain(
      `${where}: give a column name, or a list of them such as [a, b] (quote a name YAML reads as a number: "2022")`,
    );
  });
});

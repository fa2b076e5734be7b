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

// `- unique: a` then `not_null: a` without its own `- ` is one list item with two tests; it said
// `Unrecognized key: "unique"; valid keys: not_null, severity`, as if unique were no test.
describe('two tests written in one list item', () => {
  it('says one test per item, and to start the second with its own "- ", at its line', () => {
    const error = parseFailure(
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
    const error = parseFailure(
      '/* config\nmaterialized: table\ntests:\n  - not_null: a\n    severity: warn\n    unique: a\n*/\nSELECT 1 AS a',
    );
    expect(error.message).toContain(
      'line 6: tests.0.unique: "not_null" and "unique" are two tests in one list item',
    );
  });
});

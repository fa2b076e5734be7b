import { describe, expect, it } from 'vitest';
import { isLosslessCast } from '../../engine/db/lossless-cast.ts';

describe('a cast that keeps every value', () => {
  const cases: [string, string, boolean][] = [
    ['INTEGER', 'BIGINT', true],
    ['BIGINT', 'INTEGER', false],
    ['INTEGER', 'FLOAT', false],
    ['SMALLINT', 'FLOAT', true],
    ['INTEGER', 'DOUBLE', true],
    ['BIGINT', 'DOUBLE', false],
    ['FLOAT', 'DOUBLE', true],
    ['DOUBLE', 'FLOAT', false],
    ['UINTEGER', 'BIGINT', true],
    ['UBIGINT', 'BIGINT', false],
    ['INTEGER', 'UBIGINT', false],
    ['DECIMAL(10,2)', 'DECIMAL(12,2)', true],
    ['DECIMAL(10,2)', 'DECIMAL(12,4)', true],
    ['DECIMAL(10,2)', 'DECIMAL(10,4)', false],
    ['INTEGER', 'DECIMAL(18,3)', true],
    ['BIGINT', 'DECIMAL(18,3)', false],
    ['DATE', 'TIMESTAMP', false],
    ['BOOLEAN', 'VARCHAR', false],
    ['"NULL"', 'VARCHAR', true],
    ['VARCHAR', 'VARCHAR', true],
  ];
  it.each(cases)('%s → %s: %s', (from, to, lossless) => {
    expect(isLosslessCast(from, to)).toBe(lossless);
  });
});

import { describe, expect, it } from 'vitest';
import { macrosUsedBy, macroVersions } from '../../engine/pipeline/macro-versions.ts';

// A macro created as `main.twice` was recorded under the key `main`, so a model calling twice() was never
// told its dates were built with an older twice; a macro created under a quoted name ("Add One") was taken
// for a statement that defines no macro, so a change to it told every model to re-run its dates.
const files = [
  'names.sql',
  [
    'CREATE OR REPLACE TEMP MACRO main.twice(x) AS x * 2;',
    'CREATE OR REPLACE TEMP MACRO "Add One"(x) AS x + 1;',
    'CREATE OR REPLACE TEMP MACRO temp.main.thrice(x) AS twice(x) + x;',
    'CREATE OR REPLACE TEMP MACRO "a+b"(x) AS "Add One"(x) * 2;',
  ].join('\n'),
].join('\0');

describe('macro versions of macros created under qualified or quoted names', () => {
  const versions = macroVersions(files);

  it('keys each macro by the name models call it by', () => {
    expect(Object.keys(versions).sort()).toEqual(['a+b', 'add one', 'thrice', 'twice']);
    expect(versions.thrice?.calls).toEqual(['twice']);
    expect(versions['a+b']?.calls).toEqual(['add one']);
  });

  it('finds the macros a model calls, bare, qualified or quoted, and only those', () => {
    const used = (sql: string) => macrosUsedBy(sql, new Set(), versions).sort();
    expect(used('SELECT main.twice(a) FROM t')).toEqual(['twice']);
    expect(used('SELECT "Add One"(a) FROM t')).toEqual(['add one']);
    expect(used('SELECT thrice(a) FROM t')).toEqual(['thrice', 'twice']);
    expect(used('SELECT "a+b"(a) FROM t')).toEqual(['a+b', 'add one']);
    expect(used('SELECT a + b(a), add_one(a) FROM t')).toEqual([]);
  });
});

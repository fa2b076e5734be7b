import type { IcebergPublishResult, RedshiftPublishResult } from './contract.ts';

// What a publish did, in one phrase, for the app's panels and the CLI alike: a re-publish of unchanged
// data must not read as if every table had been written. Imports nothing but contract types, so the
// renderer can use it too.

function outcome(written: number, total: number): string {
  const tables = (n: number) => `${n} table${n === 1 ? '' : 's'}`;
  if (written === 0) return `${tables(total)} already up to date; nothing written`;
  if (written === total) return `Published ${tables(written)}`;
  return `Published ${tables(written)}, ${total - written} unchanged`;
}

/** An Iceberg table whose action is `none` matched the published one: no snapshot was committed. */
export function icebergOutcome(result: IcebergPublishResult): string {
  return outcome(result.tables.filter((t) => t.action !== 'none').length, result.tables.length);
}

/**
 * A Redshift append table whose dates are all in the target already gets no statement at all (an empty
 * `sentDates`); every other table is loaded, whatever its rows.
 */
export function redshiftOutcome(result: RedshiftPublishResult): string {
  return outcome(result.tables.filter((t) => t.sentDates?.length !== 0).length, result.tables.length);
}

import { ident } from '../../db/duckdb.ts';
import { type KeyColumn, type KeyText, keyTextSql } from '../gold-tables.ts';

// Every statement a publish sends goes through a dialect, so the SQL for Redshift and for PostgreSQL is
// generated (and unit-tested) in one place. PostgreSQL 15 accepts the Redshift MERGE form but rejects
// DISTSTYLE/DISTKEY/SORTKEY and COPY from S3; Redshift refuses ALTER COLUMN TYPE in a transaction.

export type DialectName = 'redshift' | 'postgres';

/** Redshift physical design of one table; ignored by PostgreSQL. */
export interface Distribution {
  style: 'ALL' | 'KEY' | 'AUTO';
  /** With style KEY. */
  distKey?: string;
  sortKey: string[];
}

export interface ColumnDefinition {
  name: string;
  type: string;
  notNull: boolean;
}

/** A `schema.table` pair; `relation()` quotes it. */
export interface TableName {
  schema: string;
  table: string;
}

/**
 * Redshift reads a backslash in '...' as an escape (`\'` is a quote), so backslashes are doubled as well as
 * quotes, as its QUOTE_LITERAL does; DuckDB's literal() doubles only quotes.
 */
export function redshiftLiteral(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/**
 * PostgreSQL keeps backslashes in '...' only while standard_conforming_strings is on (a server or role may
 * turn it off); E'...' with them doubled means the same under either setting.
 */
export function postgresLiteral(value: string): string {
  const quoted = value.replaceAll("'", "''");
  return value.includes('\\') ? `E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
}

export function relation(name: TableName): string {
  return `${ident(name.schema)}.${ident(name.table)}`;
}

export interface S3CopySource {
  /** Prefix holding the table's Parquet files, `s3://bucket/path/`. */
  uri: string;
  iamRole: string;
  region?: string;
}

export interface Dialect {
  readonly name: DialectName;
  /** The longest identifier the server keeps, in bytes; it cuts a longer one silently. */
  readonly maxIdentifierBytes: number;
  /** A string literal as this server reads it (backslashes differ between Redshift and PostgreSQL). */
  literal(value: string): string;
  createSchema(schema: string): string;
  createTable(
    name: TableName,
    columns: ColumnDefinition[],
    primaryKey: string[],
    distribution: Distribution,
  ): string;
  /** A session-local table with the target's columns, for staging rows before a MERGE or delete+insert. */
  createStaging(staging: string, like: TableName): string;
  dropTable(name: TableName): string;
  dropConstraint(name: TableName, constraint: string): string;
  renameTable(name: TableName, to: string): string;
  /**
   * True when a new table's primary key is better added after its rows are loaded (PostgreSQL builds
   * the index in one sort instead of a million inserts); Redshift's keys are informational, declared inline.
   */
  readonly primaryKeyAfterLoad: boolean;
  addPrimaryKey(name: TableName, key: string[]): string;
  /** Session settings for the publish transaction (memory for index builds and key checks). */
  transactionSettings(): string[];
  addColumn(name: TableName, column: ColumnDefinition): string;
  /** ALTER COLUMN TYPE to a wider VARCHAR; null when the dialect cannot do it inside a transaction. */
  widenColumn(name: TableName, column: string, type: string): string | null;
  addForeignKey(name: TableName, constraint: string, column: string, to: TableName, toColumn: string): string;
  /** Upsert: rows of `staging` replace rows with the same key in `target`; new keys are inserted. */
  merge(target: TableName, staging: string, key: string[], columns: string[]): string;
  /** Deletes target rows whose key is in staging. */
  deleteMatchingKeys(target: TableName, staging: string, key: string[]): string;
  /** Deletes target rows for every value of `column` present in staging (e.g. the dates being re-sent). */
  deleteMatchingValues(target: TableName, staging: string, column: string): string;
  /** Deletes the rows whose `column`, as text ('' for NULL), is one of `values`. */
  deleteValues(target: TableName, column: string, values: string[]): string;
  /** Deletes target rows whose key is not in staging (history tables mirror the local table exactly). */
  deleteMissingKeys(target: TableName, staging: string, key: string[]): string;
  insertFrom(target: TableName, staging: string, columns: string[]): string;
  /**
   * COPY ... FROM STDIN in CSV with \N as NULL (what DuckDB writes with NULLSTR '\N'), FREEZE: every load
   * goes into a table the publish created in its transaction (new, swap or staging), so rows can be
   * written frozen and pages all-visible, leaving no hint bits or freezing for readers and VACUUM to
   * write after the commit.
   */
  copyFromStdin(target: TableName | string, columns: string[]): string;
  copyFromS3(target: TableName | string, source: S3CopySource): string;
  /** One row: `n` (row count) and `checksum` (key checksum as text, key spelt as `key` says) of a table. */
  fingerprint(target: TableName, key: readonly KeyColumn[]): string;
  /** Rows `v` (the value of `column` as text, '' for NULL), `n` and `checksum`: one per value, e.g. per date. */
  fingerprintGroups(target: TableName, key: readonly KeyColumn[], column: string): string;
  /**
   * One statement that fails, naming the table, unless each table has the expected count and checksum:
   * the reconciliation of a batch sent in one go (Data API), where no client code runs between statements.
   */
  assertFingerprints(
    checks: { name: TableName; key: readonly KeyColumn[]; rowCount: number; keyChecksum: string }[],
  ): string;
  /** The schema's record of what each append table's dates held when published (PUBLISH_STATE_TABLE). */
  createPublishState(schema: string): string;
  /** Rows `v` (a date value as text) and `h` (its content hash) recorded for `table`. */
  readPublishState(schema: string, table: string): string;
  /** Replaces the record of `table` with these (value, content hash) pairs. */
  replacePublishState(schema: string, table: string, groups: [string, string][]): string[];
}

/**
 * Per append table and date, a hash of every column as the last publish sent it. Count and key checksum
 * are compared with the target itself; a value changed under the same keys (a re-run after a source
 * fix) only shows here. Written in the publish's own transaction.
 */
export const PUBLISH_STATE_TABLE = '_lakehouse_publish_state';

const columnList = (columns: string[]) => columns.map(ident).join(', ');
const prefixed = (alias: string, columns: string[]) => columns.map((c) => `${alias}.${ident(c)}`).join(', ');
const keyMatch = (left: string, right: string, key: string[]) =>
  key.map((k) => `${left}.${ident(k)} = ${right}.${ident(k)}`).join(' AND ');
const stagingName = (staging: string) => (staging.startsWith('"') ? staging : ident(staging));
const target = (name: TableName | string) => (typeof name === 'string' ? stagingName(name) : relation(name));

function common(
  name: DialectName,
  literal: (value: string) => string,
  textType: string,
  checksumTerm: (md5Hex: string) => string,
  updateOnlyChanged: boolean,
  /** A timestamp (with time zone or not) as epoch microseconds, the text DuckDB's epoch_us gives. */
  epochMicros: (quoted: string, text: 'timestamp' | 'timestamptz') => string,
) {
  const keyText = (column: KeyColumn) => {
    const text: KeyText = typeof column === 'string' ? 'plain' : column.text;
    const quoted = ident(typeof column === 'string' ? column : column.name);
    switch (text) {
      case 'timestamp':
      case 'timestamptz':
        return `CAST(${epochMicros(quoted, text)} AS ${textType})`;
      // to_char, not a cast: a cast follows the session's DateStyle, which a role or database may change.
      case 'date':
        return `to_char(${quoted}, 'YYYY-MM-DD')`;
      default:
        return `CAST(${quoted} AS ${textType})`;
    }
  };
  const checksum = (key: readonly KeyColumn[]) => {
    const text = keyTextSql(key.map(keyText));
    return `CAST(coalesce(sum(${checksumTerm(`substring(md5(${text}), 1, 15)`)}), 0) AS ${textType})`;
  };
  const state = (schema: string) => relation({ schema, table: PUBLISH_STATE_TABLE });
  return {
    name,
    literal,
    createPublishState: (schema: string) =>
      `CREATE TABLE IF NOT EXISTS ${state(schema)} (table_name VARCHAR(256) NOT NULL, group_value VARCHAR(256) NOT NULL, content_hash VARCHAR(64) NOT NULL)`,
    readPublishState: (schema: string, table: string) =>
      `SELECT group_value AS v, content_hash AS h FROM ${state(schema)} WHERE table_name = ${literal(table)}`,
    replacePublishState: (schema: string, table: string, groups: [string, string][]) => [
      `DELETE FROM ${state(schema)} WHERE table_name = ${literal(table)}`,
      ...(groups.length > 0
        ? [
            `INSERT INTO ${state(schema)} (table_name, group_value, content_hash) VALUES ${groups
              .map(([v, h]) => `(${literal(table)}, ${literal(v)}, ${literal(h)})`)
              .join(', ')}`,
          ]
        : []),
    ],
    createSchema: (schema: string) => `CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`,
    createStaging: (staging: string, like: TableName) =>
      `CREATE TEMP TABLE ${stagingName(staging)} (LIKE ${relation(like)})`,
    dropTable: (table: TableName) => `DROP TABLE ${relation(table)}`,
    dropConstraint: (table: TableName, constraint: string) =>
      `ALTER TABLE ${relation(table)} DROP CONSTRAINT ${ident(constraint)}`,
    renameTable: (table: TableName, to: string) => `ALTER TABLE ${relation(table)} RENAME TO ${ident(to)}`,
    addPrimaryKey: (table: TableName, key: string[]) =>
      `ALTER TABLE ${relation(table)} ADD PRIMARY KEY (${columnList(key)})`,
    addColumn: (table: TableName, column: ColumnDefinition) =>
      `ALTER TABLE ${relation(table)} ADD COLUMN ${ident(column.name)} ${column.type}`,
    addForeignKey: (table: TableName, constraint: string, column: string, to: TableName, toColumn: string) =>
      `ALTER TABLE ${relation(table)} ADD CONSTRAINT ${ident(constraint)} FOREIGN KEY (${ident(column)}) REFERENCES ${relation(to)} (${ident(toColumn)})`,
    merge(table: TableName, staging: string, key: string[], columns: string[]) {
      const t = relation(table);
      const rest = columns.filter((c) => !key.includes(c));
      // PostgreSQL can skip members that did not change (no dead rows); Redshift's MERGE takes no condition.
      const changed = updateOnlyChanged
        ? ` AND ROW(${prefixed(t, rest)}) IS DISTINCT FROM ROW(${prefixed('s', rest)})`
        : '';
      const matched =
        rest.length > 0
          ? ` WHEN MATCHED${changed} THEN UPDATE SET ${rest.map((c) => `${ident(c)} = s.${ident(c)}`).join(', ')}`
          : '';
      return (
        `MERGE INTO ${t} USING ${stagingName(staging)} AS s ON ${keyMatch(t, 's', key)}${matched}` +
        ` WHEN NOT MATCHED THEN INSERT (${columnList(columns)}) VALUES (${prefixed('s', columns)})`
      );
    },
    deleteMatchingKeys: (table: TableName, staging: string, key: string[]) =>
      `DELETE FROM ${relation(table)} USING ${stagingName(staging)} AS s WHERE ${keyMatch(relation(table), 's', key)}`,
    // The values as fingerprintGroups spells them (text, '' for NULL), so a value only the target has matches.
    deleteValues: (table: TableName, column: string, values: string[]) =>
      `DELETE FROM ${relation(table)} WHERE coalesce(CAST(${ident(column)} AS ${textType}), '') IN (${values.map(literal).join(', ')})`,
    deleteMatchingValues: (table: TableName, staging: string, column: string) =>
      `DELETE FROM ${relation(table)} WHERE ${ident(column)} IN (SELECT DISTINCT ${ident(column)} FROM ${stagingName(staging)})`,
    deleteMissingKeys: (table: TableName, staging: string, key: string[]) =>
      `DELETE FROM ${relation(table)} WHERE NOT EXISTS (SELECT 1 FROM ${stagingName(staging)} AS s WHERE ${keyMatch(relation(table), 's', key)})`,
    insertFrom: (table: TableName, staging: string, columns: string[]) =>
      `INSERT INTO ${relation(table)} (${columnList(columns)}) SELECT ${columnList(columns)} FROM ${stagingName(staging)}`,
    copyFromStdin: (table: TableName | string, columns: string[]) =>
      `COPY ${target(table)} (${columnList(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N', FREEZE)`,
    fingerprint: (table: TableName, key: readonly KeyColumn[]) =>
      `SELECT count(*) AS n, ${checksum(key)} AS checksum FROM ${relation(table)}`,
    fingerprintGroups: (table: TableName, key: readonly KeyColumn[], column: string) =>
      `SELECT coalesce(CAST(${ident(column)} AS ${textType}), '') AS v, count(*) AS n, ${checksum(key)} AS checksum FROM ${relation(table)} GROUP BY 1`,
    assertFingerprints(
      checks: { name: TableName; key: readonly KeyColumn[]; rowCount: number; keyChecksum: string }[],
    ) {
      // The failing branch concatenates values read from the table, so it is not a constant a planner
      // could evaluate early; casting that text to INTEGER raises an error that carries the message.
      const parts = checks.map((c) => {
        const label = `${c.name.schema}.${c.name.table}`;
        return (
          `SELECT CASE WHEN r.n = ${c.rowCount} AND r.checksum = ${literal(c.keyChecksum)} THEN 1 ELSE CAST(` +
          `${literal(`reconciliation failed for ${label}: expected ${c.rowCount} rows, key checksum ${c.keyChecksum}; target has `)}` +
          ` || CAST(r.n AS ${textType}) || ' rows, key checksum ' || r.checksum AS INTEGER) END AS ok` +
          ` FROM (SELECT count(*) AS n, ${checksum(c.key)} AS checksum FROM ${relation(c.name)}) AS r`
        );
      });
      return parts.join(' UNION ALL ');
    },
  };
}

/** PostgreSQL (and any server of its wire protocol without Redshift's extensions). */
export function postgresDialect(): Dialect {
  return {
    // 15 hex digits read as bit(60) give the same bigint as padded to 64 bits, without an lpad per row.
    ...common(
      'postgres',
      postgresLiteral,
      'text',
      (hex) => `('x' || ${hex})::bit(60)::bigint`,
      true,
      // extract(epoch) is numeric (exact) from PostgreSQL 14, a double before: round() absorbs its error.
      (quoted) => `CAST(round(extract(epoch FROM ${quoted}) * 1000000) AS bigint)`,
    ),
    createTable(table, columns, primaryKey) {
      // Text key columns compare bytewise: PostgreSQL then builds the primary key with memcmp and
      // abbreviated keys, about twice as fast as through the database's locale; ids have no linguistic
      // order to lose, and joins to columns of the default collation still work (the explicit one wins).
      const collated = columns.map((c) =>
        c.notNull && /^(VARCHAR|CHARACTER VARYING|TEXT|CHAR)\b/i.test(c.type)
          ? { ...c, type: `${c.type} COLLATE "C"` }
          : c,
      );
      return createTableBody(table, collated, primaryKey);
    },
    maxIdentifierBytes: 63,
    primaryKeyAfterLoad: true,
    // SET LOCAL ends with the transaction: the server's own settings are untouched.
    transactionSettings: () => ["SET LOCAL maintenance_work_mem = '512MB'", "SET LOCAL work_mem = '256MB'"],
    widenColumn: (table, column, type) =>
      `ALTER TABLE ${relation(table)} ALTER COLUMN ${ident(column)} TYPE ${type}`,
    copyFromS3() {
      throw new Error('COPY from S3 is Redshift only: PostgreSQL targets load through COPY FROM STDIN');
    },
  };
}

/** Amazon Redshift (provisioned or Serverless). */
export function redshiftDialect(): Dialect {
  return {
    ...common(
      'redshift',
      redshiftLiteral,
      'VARCHAR',
      (hex) => `CAST(strtol(${hex}, 16) AS DECIMAL(38,0))`,
      false,
      // DATEDIFF returns a BIGINT and takes no TIMESTAMPTZ: one is first read as its UTC wall-clock time.
      (quoted, text) =>
        `DATEDIFF(microsecond, TIMESTAMP '1970-01-01 00:00:00', ${text === 'timestamptz' ? `${quoted} AT TIME ZONE 'UTC'` : quoted})`,
    ),
    createTable(table, columns, primaryKey, distribution) {
      const options = [
        distribution.style === 'KEY' && distribution.distKey
          ? `DISTSTYLE KEY DISTKEY (${ident(distribution.distKey)})`
          : `DISTSTYLE ${distribution.style === 'KEY' ? 'AUTO' : distribution.style}`,
      ];
      if (distribution.sortKey.length > 0) options.push(`SORTKEY (${columnList(distribution.sortKey)})`);
      return `${createTableBody(table, columns, primaryKey)} ${options.join(' ')}`;
    },
    maxIdentifierBytes: 127,
    primaryKeyAfterLoad: false,
    transactionSettings: () => [],
    // Redshift runs ALTER COLUMN TYPE only outside a transaction block, so it cannot be part of an atomic load.
    widenColumn: () => null,
    copyFromS3: (table, source) =>
      `COPY ${target(table)} FROM ${redshiftLiteral(source.uri)} IAM_ROLE ${redshiftLiteral(source.iamRole)} FORMAT AS PARQUET` +
      (source.region ? ` REGION ${redshiftLiteral(source.region)}` : ''),
  };
}

export function dialectFor(name: DialectName): Dialect {
  return name === 'redshift' ? redshiftDialect() : postgresDialect();
}

function createTableBody(table: TableName, columns: ColumnDefinition[], primaryKey: string[]): string {
  const lines = columns.map((c) => `${ident(c.name)} ${c.type}${c.notNull ? ' NOT NULL' : ''}`);
  if (primaryKey.length > 0) lines.push(`PRIMARY KEY (${columnList(primaryKey)})`);
  return `CREATE TABLE ${relation(table)} (${lines.join(', ')})`;
}

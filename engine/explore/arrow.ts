import type { DuckDBResultReader } from '@duckdb/node-api';
import {
  Bool,
  type DataType,
  Float64,
  Int32,
  Int64,
  Table,
  tableToIPC,
  Utf8,
  type Vector,
  vectorFromArray,
} from 'apache-arrow';
import type { Column } from '../api/contract.ts';
import { ident, shortestFloat } from '../db/duckdb.ts';

type WireKind = 'bool' | 'int32' | 'int64' | 'float64' | 'text';

const INT32 = /^(TINYINT|SMALLINT|INTEGER|UTINYINT|USMALLINT)$/;
const INT64 = /^(BIGINT|UINTEGER)$/;
const FLOAT = /^(FLOAT|DOUBLE|REAL)$/;
const SINGLE = /^(FLOAT|REAL)$/;

/** How a DuckDB column travels: exact types stay binary; DECIMAL, HUGEINT, dates and nested values as their text. */
function wireKind(type: string): WireKind {
  if (type === 'BOOLEAN') return 'bool';
  if (INT32.test(type)) return 'int32';
  if (INT64.test(type)) return 'int64';
  if (FLOAT.test(type)) return 'float64';
  return 'text';
}

/** The SELECT list that reads columns in their wire form (text columns cast by DuckDB, one pass). */
export function wireSelectList(columns: Column[], tableAlias?: string): string {
  const prefix = tableAlias ? `${ident(tableAlias)}.` : '';
  return columns
    .map((c) => {
      const name = `${prefix}${ident(c.name)}`;
      switch (wireKind(c.type)) {
        case 'text':
          return `CAST(${name} AS VARCHAR) AS ${ident(c.name)}`;
        case 'int64':
          return `CAST(${name} AS BIGINT) AS ${ident(c.name)}`;
        default:
          return `${name} AS ${ident(c.name)}`;
      }
    })
    .join(', ');
}

function arrowType(kind: WireKind): DataType {
  switch (kind) {
    case 'bool':
      return new Bool();
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'float64':
      return new Float64();
    case 'text':
      return new Utf8();
  }
}

/** Serializes a result read with wireSelectList as one Arrow IPC stream (schema + one record batch). */
export function resultToArrow(columns: Column[], result: DuckDBResultReader): Uint8Array {
  const values = result.getColumnsJS();
  const vectors: Record<string, Vector> = {};
  columns.forEach((column, i) => {
    let columnValues = values[i] ?? [];
    // FLOAT travels as float64: widened as is, 0.1 would show as 0.10000000149011612.
    if (SINGLE.test(column.type)) {
      columnValues = columnValues.map((v) => (typeof v === 'number' ? shortestFloat(v) : v));
    }
    vectors[column.name] = vectorFromArray(columnValues, arrowType(wireKind(column.type)));
  });
  return tableToIPC(new Table(vectors), 'stream');
}

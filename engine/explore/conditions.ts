import type { ColumnFilter, SortKey } from '../api/contract.ts';
import { LakehouseError } from '../api/errors.ts';
import { type Db, ident, literal } from '../db/duckdb.ts';
import { nameAndType, splitTypeList } from '../db/type-list.ts';
import { columnOf, type Relation, valueLiteral } from './relation.ts';

const COMPARISONS = { eq: '=', ne: '<>', lt: '<', le: '<=', gt: '>', ge: '>=' } as const;

/**
 * The WHERE clause of a set of filters (all must hold), or '' for none. Identifiers are quoted (and
 * qualified with `alias` when given, for the reason orderClause gives); values are quoted literals cast
 * to the column's type (DuckDB's own type name), so `event_id = '42'` compares numbers.
 */
export function whereClause(relation: Relation, filters: ColumnFilter[], alias?: string): string {
  if (filters.length === 0) return '';
  const prefix = alias ? `${ident(alias)}.` : '';
  const parts = filters.map((filter) => {
    const column = columnOf(relation, filter.column);
    const name = `${prefix}${ident(column.name)}`;
    switch (filter.op) {
      case 'is_null':
        return `${name} IS NULL`;
      case 'not_null':
        return `${name} IS NOT NULL`;
      case 'contains':
        return `contains(lower(${shownText(name, column.type)}), lower(${valueLiteral(filter.value ?? '')}))`;
      case 'starts_with':
        return `starts_with(${shownText(name, column.type)}, ${valueLiteral(filter.value ?? '')})`;
      default:
        return (
          unionComparison(name, column.type, filter.op, filter.value) ??
          exactComparison(name, column.type, filter.op, filter.value) ??
          `${name} ${COMPARISONS[filter.op]} CAST(${valueLiteral(filter.value ?? '')} AS ${comparedAs(column.type, filter.value)})`
        );
    }
  });
  return `WHERE ${parts.join(' AND ')}`;
}

/** The whole-number types, by their smallest and largest value. */
const WHOLE_RANGES: Record<string, [bigint, bigint]> = {
  TINYINT: [-(2n ** 7n), 2n ** 7n - 1n],
  SMALLINT: [-(2n ** 15n), 2n ** 15n - 1n],
  INTEGER: [-(2n ** 31n), 2n ** 31n - 1n],
  BIGINT: [-(2n ** 63n), 2n ** 63n - 1n],
  HUGEINT: [-(2n ** 127n), 2n ** 127n - 1n],
  UTINYINT: [0n, 2n ** 8n - 1n],
  USMALLINT: [0n, 2n ** 16n - 1n],
  UINTEGER: [0n, 2n ** 32n - 1n],
  UBIGINT: [0n, 2n ** 64n - 1n],
  UHUGEINT: [0n, 2n ** 128n - 1n],
};
const DECIMAL = /^DECIMAL\((\d+),\s*(\d+)\)$/;

/** An exact number type's values as whole units of 10^-scale, from min to max; null for other types. */
function exactType(type: string): { scale: number; min: bigint; max: bigint } | null {
  const whole = WHOLE_RANGES[type];
  if (whole) return { scale: 0, min: whole[0], max: whole[1] };
  const decimal = DECIMAL.exec(type);
  if (!decimal) return null;
  const max = 10n ** BigInt(decimal[1] as string) - 1n;
  return { scale: Number(decimal[2]), min: -max, max };
}

/** A number as typed (42, -0.5, 1e19), exactly: units × 10^-scale; null for anything else. */
export function exactValue(value: ColumnFilter['value']): { units: bigint; scale: number } | null {
  const parts = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d{1,4}))?$/i.exec(String(value ?? '').trim());
  if (!parts || `${parts[2]}${parts[3] ?? ''}` === '') return null;
  const digits = BigInt(`${parts[2]}${parts[3] ?? ''}`);
  let scale = (parts[3] ?? '').length - Number(parts[4] ?? 0);
  let units = parts[1] === '-' ? -digits : digits;
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units, scale };
}

/** units × 10^-scale as SQL number text (as DuckDB writes a DECIMAL of that scale). */
export function unitsText(units: bigint, scale: number): string {
  const digits = (units < 0n ? -units : units).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  return `${units < 0n ? '-' : ''}${whole}${scale > 0 ? `.${digits.slice(-scale)}` : ''}`;
}

/**
 * A comparison of a whole-number or decimal column with a number, exactly and in the column's own
 * type. Cast to that type, 2.5 on an INTEGER became 3 and 1000 on a TINYINT was refused; compared as
 * DOUBLE, 9007199254740993.5 on a BIGINT became ...992 or ...994. A value finer than the column's
 * scale becomes its neighbour on the column's grid (`< 2.5` is `<= 2`), and one past the type's range
 * holds for every row or none. Null when the value is no plain number or the type not an exact one.
 */
function exactComparison(
  name: string,
  type: string,
  op: keyof typeof COMPARISONS,
  value: ColumnFilter['value'],
): string | null {
  const column = exactType(type);
  const typed = exactValue(value);
  if (!column || !typed) return null;
  let units: bigint;
  let compare: keyof typeof COMPARISONS = op;
  if (typed.scale <= column.scale) {
    units = typed.units * 10n ** BigInt(column.scale - typed.scale);
  } else {
    const step = 10n ** BigInt(typed.scale - column.scale);
    const rest = typed.units % step;
    units = typed.units / step - (rest < 0n ? 1n : 0n);
    if (rest !== 0n) {
      // Between two of the column's values: `units` is the one below.
      if (op === 'eq') return 'FALSE';
      if (op === 'ne') return `${name} IS NOT NULL`;
      compare = op === 'lt' || op === 'le' ? 'le' : 'gt';
    }
  }
  const all = `${name} IS NOT NULL`;
  if (units < column.min) return compare === 'gt' || compare === 'ge' || compare === 'ne' ? all : 'FALSE';
  if (units > column.max) return compare === 'lt' || compare === 'le' || compare === 'ne' ? all : 'FALSE';
  return `${name} ${COMPARISONS[compare]} CAST(${literal(unitsText(units, column.scale))} AS ${type})`;
}

/** A UNION type's members, by name and type, in order; null for any other type. */
export function unionMembers(type: string): { name: string; type: string }[] | null {
  if (!type.startsWith('UNION(') || !type.endsWith(')')) return null;
  const body = type.slice('UNION('.length, -1);
  const members = splitTypeList(body).map(nameAndType);
  return members.every((m) => m !== null) ? (members as { name: string; type: string }[]) : null;
}

/**
 * A comparison on a UNION column, member by member: a row holds when its member's value compares so
 * with the value read as that member's type, as the grid shows it. Cast to the union, '42' took the
 * VARCHAR member only (the INTEGER 42 beside it in the grid was left out), `< 10` compared the members'
 * tags first (every INTEGER was less than any text), and a union without a text member failed to cast.
 * Members the value cannot be read as match no row. Null for other types.
 */
function unionComparison(
  name: string,
  type: string,
  op: keyof typeof COMPARISONS,
  value: ColumnFilter['value'],
): string | null {
  const members = unionMembers(type);
  if (!members) return null;
  const compare = op === 'ne' ? 'eq' : op;
  const matches = members.map((member) => {
    const inner = `union_extract(${name}, ${literal(member.name)})`;
    const test =
      unionComparison(inner, member.type, compare, value) ??
      exactComparison(inner, member.type, compare, value) ??
      `${inner} ${COMPARISONS[compare]} TRY_CAST(${valueLiteral(value ?? '')} AS ${comparedAs(member.type, value)})`;
    return `(union_tag(${name}) = ${literal(member.name)} AND ${test})`;
  });
  const any = `coalesce(${matches.join(' OR ')}, FALSE)`;
  return op === 'ne' ? `(${name} IS NOT NULL AND NOT ${any})` : any;
}

/** Whether a comparison's value can be read as one of the union's members (SQL); null for other types. */
function readsAsUnionMember(type: string, value: ColumnFilter['value']): string | null {
  const members = unionMembers(type);
  if (!members) return null;
  const each = members.map(
    (member) =>
      readsAsUnionMember(member.type, value) ??
      (exactType(member.type) && exactValue(value)
        ? 'TRUE'
        : `TRY_CAST(${valueLiteral(value ?? '')} AS ${comparedAs(member.type, value)}) IS NOT NULL`),
  );
  return `(${each.join(' OR ')})`;
}

/**
 * The type a comparison's value is read as: the column's own, unless that would cut the value. Cast to
 * the column's type, `2022-06-02 12:00` on a DATE became the day (so `< 2022-06-02 12:00` left that day
 * out). As in SQL (DuckDB and PostgreSQL compare a date with a timestamp as timestamps), the column is
 * then compared in the wider type, so the answer is exact rather than the value refused: the question
 * has a right answer. Numbers on whole-number and decimal columns are compared by exactComparison.
 */
export function comparedAs(type: string, value: ColumnFilter['value']): string {
  const text = String(value ?? '').trim();
  if (type === 'DATE') return /^\d{4,}-\d{2}-\d{2}$/.test(text) ? type : 'TIMESTAMP';
  // TIMESTAMP holds every second and millisecond value, and the finer ones these would round.
  if (type === 'TIMESTAMP_S' || type === 'TIMESTAMP_MS') return 'TIMESTAMP';
  // What exactComparison does not take (infinity, say) is read as a DOUBLE, or refused.
  if (exactType(type)) return 'DOUBLE';
  return type;
}

/** DuckDB's text of a timestamp: seconds, their fraction if any, then the rest (a time zone offset). */
const TIMESTAMP_TEXT = String.raw`^(\d{4,}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.(\d+))?(.*)$`;

/**
 * The text the grid shows for a column, in SQL, for the text filters: they must find what the analyst
 * reads. DuckDB's text of a timestamp drops trailing zeros (06.66, 12:00:00) where the grid pads the
 * fraction to milliseconds, or micro/nanoseconds when finer (renderer formatCell; TIMESTAMP_S has none).
 */
export function shownText(name: string, type: string): string {
  const text = `CAST(${name} AS VARCHAR)`;
  if (type === 'DOUBLE') return jsNumberText(text);
  if (type === 'FLOAT' || type === 'REAL') {
    // The grid shows a FLOAT's shortest decimal (shortestFloat), where DuckDB may print more digits
    // (2692761.75 for the 2692761.8 on screen): the fewest significant digits that read back as it.
    // A float has one 6-digit decimal at most, so 6 digits stand for fewer; DuckDB's text of up to 6
    // is already it. printf rounds an exact tie (a float's .25) to even where toPrecision rounds it up:
    // nudged one double step away from zero, a tie rounds up and nothing else moves.
    const rounded = (digits: number) =>
      `CAST(printf('%.${digits - 1}e', CAST(${name} AS DOUBLE) * 1.0000000000000002) AS DOUBLE)`;
    const shortest = `CASE WHEN CAST(${rounded(6)} AS FLOAT) = ${name} THEN ${rounded(6)}
       WHEN CAST(${rounded(7)} AS FLOAT) = ${name} THEN ${rounded(7)}
       WHEN CAST(${rounded(8)} AS FLOAT) = ${name} THEN ${rounded(8)} ELSE ${rounded(9)} END`;
    const digits = `length(trim(replace(replace(${text}, '-', ''), '.', ''), '0'))`;
    return jsNumberText(`CASE WHEN NOT isfinite(${name}) OR (NOT contains(${text}, 'e') AND ${digits} <= 6) THEN ${text}
       ELSE CAST(${shortest} AS VARCHAR) END`);
  }
  if (!type.startsWith('TIMESTAMP') || type === 'TIMESTAMP_S') return text;
  const part = (group: number) => `regexp_extract(${text}, ${literal(TIMESTAMP_TEXT)}, ${group})`;
  const byRegex = `CASE WHEN ${part(1)} = '' THEN ${text} ELSE ${part(1)} || '.' ||
     rpad(${part(2)}, greatest(3, CAST(ceil(length(${part(2)}) / 3) * 3 AS INTEGER)), '0') || ${part(3)} END`;
  if (type === 'TIMESTAMP WITH TIME ZONE') return byRegex;
  // Years 1000-9999 read `YYYY-MM-DD HH:MM:SS[.fraction]`, padded by length: a regex on every row would
  // cost several times the scan. The rest (BC, year 10000 on, infinity) goes through the regex.
  return `CASE WHEN isfinite(${name}) AND year(${name}) BETWEEN 1000 AND 9999 THEN (CASE
       WHEN length(${text}) = 19 THEN ${text} || '.000'
       ELSE rpad(${text}, CASE WHEN length(${text}) <= 23 THEN 23 WHEN length(${text}) <= 26 THEN 26 ELSE 29 END, '0')
     END) ELSE ${byRegex} END`;
}

/**
 * DuckDB's text of a float (shortest digits, as JS prints them) rewritten in the form JS gives the grid:
 * 0 not 0.0, 100000000000000000000 not 1e+20, 0.00001 not 1e-05, 1e-7 not 1e-07, Infinity, NaN. The
 * digits are `d` with the decimal point after `n` of them; JS writes them plainly for -6 < n <= 21.
 */
function jsNumberText(text: string): string {
  // Without an exponent DuckDB's text is JS's but for a trailing .0 (DuckDB writes one from 1e-4 to
  // 1e16, inside JS's plain range); only the rest is taken apart, which costs several times the scan.
  const fast = `CASE WHEN ${text} = '-0.0' THEN '0' WHEN suffix(${text}, '.0') THEN ${text}[:-3] ELSE ${text} END`;
  return `CASE WHEN NOT contains(${text}, 'e') AND NOT contains(${text}, 'n') THEN ${fast} ELSE ${slowNumberText(text)} END`;
}

function slowNumberText(text: string): string {
  const plain = `CASE WHEN c.d = '' THEN '0' ELSE (CASE WHEN c.neg THEN '-' ELSE '' END) || CASE
       WHEN length(c.d) <= c.n AND c.n <= 21 THEN c.d || repeat('0', c.n - length(c.d))
       WHEN 0 < c.n AND c.n <= 21 THEN c.d[1:c.n] || '.' || c.d[c.n + 1:]
       WHEN -6 < c.n AND c.n <= 0 THEN '0.' || repeat('0', -c.n) || c.d
       ELSE c.d[1] || CASE WHEN length(c.d) > 1 THEN '.' || c.d[2:] ELSE '' END || 'e' ||
            CASE WHEN c.n >= 1 THEN '+' ELSE '-' END || CAST(abs(c.n - 1) AS VARCHAR)
     END END`;
  return `list_transform([${text}], t -> CASE
     WHEN t IN ('nan', '-nan') THEN 'NaN' WHEN t = 'inf' THEN 'Infinity' WHEN t = '-inf' THEN '-Infinity'
     ELSE list_transform([{neg: t[1] = '-', m: split_part(ltrim(t, '-'), 'e', 1),
                           e: CASE WHEN contains(t, 'e') THEN CAST(split_part(t, 'e', 2) AS INTEGER) ELSE 0 END}], a ->
       list_transform([{neg: a.neg, digits: replace(a.m, '.', ''), p: length(split_part(a.m, '.', 1)) + a.e}], b ->
         list_transform([{neg: b.neg, d: trim(b.digits, '0'),
                          n: b.p - (length(b.digits) - length(ltrim(b.digits, '0')))}], c -> ${plain})[1])[1])[1]
   END)[1]`;
}

/**
 * Checks, before any scan, that each comparison's value converts to its column's type; a value that
 * does not is an INVALID_ARGUMENT naming the column, the value and the type.
 */
export async function checkFilterValues(db: Db, relation: Relation, filters: ColumnFilter[]): Promise<void> {
  // A plain number on an exact number column needs no check: exactComparison takes any.
  const typed = filters.filter(
    (f) => f.op in COMPARISONS && !(exactType(columnOf(relation, f.column).type) && exactValue(f.value)),
  );
  if (typed.length === 0) return;
  const probes = typed.map((f, i) => {
    const column = columnOf(relation, f.column);
    const union = readsAsUnionMember(column.type, f.value);
    if (union) return `NOT ${union} AS ${ident(`bad${i}`)}`;
    return `TRY_CAST(${valueLiteral(f.value ?? '')} AS ${comparedAs(column.type, f.value)}) IS NULL AS ${ident(`bad${i}`)}`;
  });
  const [row] = await db.all<Record<string, boolean>>(`SELECT ${probes.join(', ')}`);
  typed.forEach((f, i) => {
    if (row?.[`bad${i}`]) {
      const column = columnOf(relation, f.column);
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `Filter on ${relation.name}.${column.name}: "${String(f.value)}" is not a valid ${column.type}. Give ${howToWrite(column.type)}.`,
        { table: relation.name, column: column.name, value: f.value ?? null, type: column.type },
      );
    }
  });
}

/** How a value of a column's type is written, for the error that refuses one. */
function howToWrite(type: string): string {
  if (/^U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)$/.test(type)) return 'a whole number, e.g. 42';
  if (/^(FLOAT|DOUBLE|REAL|DECIMAL.*)$/.test(type)) return 'a number, e.g. 12.5';
  if (type === 'DATE') return 'a date as YYYY-MM-DD, e.g. 2022-06-01, or a date and time (2022-06-01 08:30)';
  if (type.startsWith('TIMESTAMP')) return 'a date and time as YYYY-MM-DD HH:MM:SS, e.g. 2022-06-01 08:30:00';
  if (type === 'BOOLEAN') return 'true or false';
  const members = unionMembers(type);
  if (members) return `a value of one of its members' types (${members.map((m) => m.type).join(', ')})`;
  return 'a value of that type';
}

/**
 * The ORDER BY of a grid: the sort keys (nulls last either way), then the row key (`rowid`, or the
 * snapshot's row number when a column hides it), so that windows of one order never overlap (views are
 * read through a snapshot table, so they have a rowid too). Columns are qualified with the table's
 * alias: a SELECT list that casts a column under its own name must not change the order (DECIMAL as
 * text would sort 10.5 before 9.2).
 */
export function orderClause(relation: Relation, sort: SortKey[], alias: string, rowKey = 'rowid'): string {
  const prefix = `${ident(alias)}.`;
  const keys = sort.map(
    (k) => `${prefix}${ident(columnOf(relation, k.column).name)} ${k.direction.toUpperCase()} NULLS LAST`,
  );
  return `ORDER BY ${[...keys, `${prefix}${rowKey}`].join(', ')}`;
}

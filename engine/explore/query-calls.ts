/**
 * What in a parsed query (the statements of DuckDB's json_serialize_sql) could make a second run of it
 * return other rows, for the console and `lakehouse query`, which run a query again to count it: the
 * functions it calls (lower case) and whether it samples. ORDER BY is left out: it orders the rows,
 * whatever it calls, and keeps their number.
 */
export function callsThatMayChangeRows(statements: unknown): { functions: Set<string>; sampled: boolean } {
  const functions = new Set<string>();
  let sampled = false;
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    if ((node as { type?: unknown }).type === 'ORDER_MODIFIER') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'function_name' && typeof value === 'string') functions.add(value.toLowerCase());
      else if (key === 'sample' && value !== null) sampled = true;
      else walk(value);
    }
  };
  walk(statements);
  return { functions, sampled };
}

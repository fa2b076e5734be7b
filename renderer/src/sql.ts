/** Quotes a dotted table name for SQL: each part in double quotes, inner quotes doubled (`gold.x` → `"gold"."x"`). */
export function quoteTableName(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.replaceAll('"', '""')}"`)
    .join('.');
}

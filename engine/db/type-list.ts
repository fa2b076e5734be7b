/**
 * The items of a DuckDB type's list as DESCRIBE writes it (a STRUCT's or UNION's `"a b" INTEGER, c
 * VARCHAR[]`, a MAP's `VARCHAR, INTEGER`), split at the commas outside quotes and parentheses, so
 * quoted names and ENUM('a,)') values stay whole. Each item trimmed.
 */
export function splitTypeList(list: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      items.push(list.slice(start, i).trim());
      start = i + 1;
    }
  }
  items.push(list.slice(start).trim());
  return items;
}

/**
 * A STRUCT field or UNION member as DESCRIBE writes it (`"x ""y""" INTEGER`, `at TIMESTAMP WITH TIME
 * ZONE`): its name, unquoted, and its type. Null for text that is not a name and a type.
 */
export function nameAndType(item: string): { name: string; type: string } | null {
  const match = /^\s*("(?:[^"]|"")*"|[^\s"]+)\s+(\S[\s\S]*?)\s*$/.exec(item);
  if (!match) return null;
  const name = match[1]!;
  return {
    name: name.startsWith('"') ? name.slice(1, -1).replaceAll('""', '"') : name,
    type: match[2]!,
  };
}

/**
 * The text of one query with the semicolons that end it blanked out (each becomes a space, so DuckDB's
 * LINE and caret still point into the user's text). The console and export wrap the query in a
 * subquery, where `SELECT 1; -- done` is a syntax error though DuckDB runs it as written. Only
 * semicolons outside strings, quoted names and comments are blanked: in a text that holds one statement
 * (checkOneQuery), those can only end it.
 */
export function withoutStatementEnds(sql: string): string {
  const out = sql.split('');
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (c === "'" || c === '"') {
      // E'...' strings take backslash escapes; elsewhere a doubled quote is a quote.
      const escapes = c === "'" && /[eE]/.test(sql[i - 1] ?? '') && !/\w/.test(sql[i - 2] ?? '');
      i += 1;
      while (i < sql.length) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === c && sql[i + 1] === c) i += 2;
        else if (sql[i] === c) break;
        else i += 1;
      }
      i += 1;
    } else if (c === '$' && !/[\p{L}\p{N}_$]/u.test(sql[i - 1] ?? '')) {
      // Only where a token starts: in a name (a$$b, a$b$c), `$` is one of its characters.
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        i = end < 0 ? sql.length : end + tag.length;
      } else i += 1;
    } else {
      if (c === ';') out[i] = ' ';
      i += 1;
    }
  }
  return out.join('').trimEnd();
}

// Keyword and title slugs: the accent-free, lower-case, dash-separated form that the matcher compares.
// The TypeScript function and the DuckDB macro must agree byte for byte (test/normalize/slug.test.ts).

const COMBINING_MARKS = /\p{M}/gu;
const NON_SLUG_RUN = /[^a-z0-9]+/g;
const EDGE_DASHES = /^-+|-+$/g;

/**
 * Lower-cases, strips accents (NFD, then drops combining marks; Vietnamese đ/Đ → d, which has no
 * decomposition), turns every run of characters outside [a-z0-9] into one '-', trims dashes.
 * Returns null for null input and whenever nothing is left (blank, punctuation only, emoji only).
 */
export function slugify(text: string | null): string | null {
  if (text === null) return null;
  const slug = text
    .toLowerCase()
    .normalize('NFD')
    .replace(COMBINING_MARKS, '')
    .replaceAll('đ', 'd')
    .replace(NON_SLUG_RUN, '-')
    .replace(EDGE_DASHES, '');
  return slug === '' ? null : slug;
}

/**
 * DuckDB macro `slugify(s)` with exactly the semantics of {@link slugify}: DuckDB's strip_accents is
 * canonical decomposition minus marks, like NFD + \p{M} removal, and also leaves đ alone. It stops at
 * a NUL character in non-ASCII text, so NUL becomes a space first (a separator, as in TypeScript).
 */
export const SLUG_SQL_MACRO = `CREATE OR REPLACE MACRO slugify(s) AS
  nullif(trim(regexp_replace(replace(strip_accents(replace(lower(s), chr(0), ' ')), 'đ', 'd'), '[^a-z0-9]+', '-', 'g'), '-'), '')`;

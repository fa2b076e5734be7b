/**
 * Whether every value of DuckDB type `from` converts to type `to` and back unchanged: what a gold
 * table's column may take from a model, or be widened to. Stricter than DuckDB's implicit casts, which
 * allow INTEGER to FLOAT and BIGINT to DOUBLE (rounding large values) and DATE to TIMESTAMP.
 */
export function isLosslessCast(from: string, to: string): boolean {
  const a = keywordsUpper(from);
  const b = keywordsUpper(to);
  if (a === b || a === '"NULL"' || a === 'NULL') return true;
  const intFrom = INTEGERS[a];
  const intTo = INTEGERS[b];
  if (intFrom && intTo) {
    // Signed holds unsigned only with more bits; unsigned never holds negative values.
    if (intFrom.signed === intTo.signed) return intTo.bits >= intFrom.bits;
    return intTo.signed && intTo.bits > intFrom.bits;
  }
  if (a === 'FLOAT' && b === 'DOUBLE') return true;
  const mantissa = b === 'DOUBLE' ? 53 : b === 'FLOAT' ? 24 : 0;
  if (intFrom && mantissa > 0) return intFrom.bits - (intFrom.signed ? 1 : 0) <= mantissa;
  const decTo = decimal(b);
  if (decTo) {
    const decFrom = decimal(a);
    if (decFrom)
      return decTo.scale >= decFrom.scale && decTo.width - decTo.scale >= decFrom.width - decFrom.scale;
    if (intFrom) return decTo.width - decTo.scale >= intFrom.digits;
  }
  return false;
}

const INTEGERS: Record<string, { bits: number; signed: boolean; digits: number }> = {
  TINYINT: { bits: 8, signed: true, digits: 3 },
  SMALLINT: { bits: 16, signed: true, digits: 5 },
  INTEGER: { bits: 32, signed: true, digits: 10 },
  BIGINT: { bits: 64, signed: true, digits: 19 },
  HUGEINT: { bits: 128, signed: true, digits: 39 },
  UTINYINT: { bits: 8, signed: false, digits: 3 },
  USMALLINT: { bits: 16, signed: false, digits: 5 },
  UINTEGER: { bits: 32, signed: false, digits: 10 },
  UBIGINT: { bits: 64, signed: false, digits: 20 },
  UHUGEINT: { bits: 128, signed: false, digits: 39 },
};

function decimal(type: string): { width: number; scale: number } | undefined {
  const match = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(type);
  return match ? { width: Number(match[1]), scale: Number(match[2]) } : undefined;
}

/**
 * A type's text with its keywords in upper case and its quoted parts as they are: ENUM members and
 * STRUCT field names keep their case, so ENUM('a', 'b') is not taken for ENUM('A', 'B'), to which
 * DuckDB casts no value.
 */
function keywordsUpper(type: string): string {
  return type.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|[^'"]+/g, (part) =>
    part.startsWith("'") || part.startsWith('"') ? part : part.toUpperCase(),
  );
}

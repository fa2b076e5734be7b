import type { Engine } from '../../engine/engine.ts';

/** An order-independent digest of a table's full content, to prove a re-run changed nothing. */
export async function tableFingerprint(engine: Engine, table: string): Promise<string> {
  const result = await engine.query(
    `SELECT count(*) AS n, md5(coalesce(string_agg(r, chr(10) ORDER BY r), '')) AS digest
     FROM (SELECT CAST(t AS VARCHAR) AS r FROM ${table} AS t)`,
  );
  const row = result.rows[0] ?? {};
  return `${row.n}:${row.digest}`;
}

export async function goldFingerprints(engine: Engine): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of await engine.tables()) {
    if (t.layer === 'gold' || t.name === 'silver.keyword_match')
      out[t.name] = await tableFingerprint(engine, t.name);
  }
  return out;
}

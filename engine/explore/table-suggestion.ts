import { escapeRegExp } from '../api/errors.ts';
import { type Db, literal } from '../db/duckdb.ts';

// For a missing table DuckDB suggests a name from its own catalog (pg_tables, duckdb_constraints, or
// sqlite_temp_schema in an empty project): the user meant one of the layers' tables, if any is close.

/** DuckDB's error for a missing table, with the suggestion it picks from its own catalog. */
const MISSING_TABLE = /^(Catalog Error: Table with name (.+?) does not exist!)(\nDid you mean "[^"]*"\?)?/;

/** `message` with DuckDB's suggestion for a missing table replaced by the closest layer table, if any. */
export async function suggestLayerTable(db: Db, message: string): Promise<string> {
  const missing = MISSING_TABLE.exec(message);
  if (!missing) return message;
  const name = missing[2] ?? '';
  // DuckDB names the table alone; its "LINE n:" excerpt of the SQL shows the layer it was asked in.
  const layer = new RegExp(
    `\\b(bronze|silver|gold|quarantine)\\s*\\.\\s*"?${escapeRegExp(name)}\\b`,
    'i',
  ).exec(message)?.[1];
  const closest = await closestLayerRelation(db, layer ? `${layer}.${name}` : name);
  const hint = closest ? `Did you mean ${closest}?` : 'SHOW ALL TABLES lists the tables there are.';
  return message.replace(MISSING_TABLE, (_, headline: string) => `${headline}\n${hint}`);
}

/** The bronze, silver, gold or quarantine table or view whose name is closest to `name`, if any is close. */
export async function closestLayerRelation(db: Db, name: string): Promise<string | null> {
  const table = name.split('.').at(-1) ?? name;
  // Among equally close names, the layer the user wrote wins: quarantine.x suggests quarantine.x.
  const schema = name.includes('.') ? (name.split('.').at(-2) ?? '') : '';
  const closest = await db.scalar<string>(
    `SELECT schema_name || '.' || name FROM (
       SELECT schema_name, table_name AS name FROM duckdb_tables() WHERE database_name = current_database()
       UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = current_database()
     )
     WHERE schema_name IN ('bronze', 'silver', 'gold', 'quarantine')
       AND jaro_winkler_similarity(lower(name), lower($table)) >= 0.85
     ORDER BY jaro_winkler_similarity(lower(name), lower($table)) DESC, schema_name = lower($schema) DESC,
              schema_name = 'gold' DESC, schema_name DESC
     LIMIT 1`,
    { table, schema },
  );
  return closest ?? null;
}

/**
 * The candidate closest to `name` (case-insensitive Jaro-Winkler similarity, as for tables above), if
 * any is close; `alias` gives other spellings a candidate answers to (a model id to its bare name).
 */
export async function closestName(
  db: Db,
  name: string,
  candidates: string[],
  alias: (candidate: string) => string = (candidate) => candidate,
): Promise<string | null> {
  if (candidates.length === 0) return null;
  const rows = candidates.map((c) => `(${literal(c)}, ${literal(alias(c))})`).join(', ');
  const closest = await db.scalar<string>(
    `SELECT candidate FROM (
       SELECT candidate, greatest(jaro_winkler_similarity(lower(candidate), lower($name)),
                                  jaro_winkler_similarity(lower(alias), lower($name))) AS score
       FROM (VALUES ${rows}) AS t(candidate, alias))
     WHERE score >= 0.85 ORDER BY score DESC, candidate LIMIT 1`,
    { name },
  );
  return closest ?? null;
}

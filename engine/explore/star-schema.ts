import type { OrphanKind, StarEdge, StarOrphans, StarSchema, StarTable } from '../api/contract.ts';
import { LakehouseError } from '../api/errors.ts';
import { type Db, ident } from '../db/duckdb.ts';
import type { Engine } from '../engine.ts';
import { UNKNOWN_KEY } from '../materializations/scd1.ts';
import { type Model, relationshipTargetId } from '../project/models.ts';

/** `"schema"."table"` of a model id such as `gold.dim_user`. */
export function relationOf(model: Model): string {
  return `${ident(model.layer)}.${ident(model.name)}`;
}

/** Whether a model's table exists yet (a project that never ran has none), as `db` sees it. */
export async function relationExists(db: Db, model: Model): Promise<boolean> {
  const found = await db.scalar<number | bigint>(
    `SELECT count(*) FROM (
       SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()
       UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = current_database()
     ) WHERE schema_name = $schema AND table_name = $name`,
    { schema: model.layer, name: model.name },
  );
  return Number(found ?? 0) > 0;
}

interface Relationship {
  from: Model;
  column: string;
  to: Model;
  field: string;
}

function relationships(engine: Engine): Relationship[] {
  const byId = new Map(engine.models.map((m) => [m.id.toLowerCase(), m]));
  const out: Relationship[] = [];
  for (const from of engine.models) {
    if (!from.config.role) continue;
    for (const test of from.config.tests) {
      if (!('relationships' in test)) continue;
      const to = byId.get(relationshipTargetId(test.relationships.to));
      if (to) out.push({ from, column: test.relationships.column, to, field: test.relationships.field });
    }
  }
  return out;
}

/** True when `field` is the dimension's surrogate key with an explicit unknown member (key 0). */
function hasUnknownMember(to: Model, field: string): boolean {
  return to.config.surrogate_key === field && to.config.unknown_member !== undefined;
}

/** Predicates over `f` (the referencing row) and `d` (the matched member, if any) for each orphan kind. */
function orphanPredicates(edge: Relationship): Record<Exclude<OrphanKind, 'all'>, string> {
  const column = `f.${ident(edge.column)}`;
  const unknown = hasUnknownMember(edge.to, edge.field) ? `${column} = ${UNKNOWN_KEY}` : 'FALSE';
  return {
    unknown: `coalesce(${unknown}, FALSE)`,
    missing: `(${column} IS NULL OR d.__member IS NULL) AND NOT coalesce(${unknown}, FALSE)`,
  };
}

function memberJoin(edge: Relationship, alias: string): string {
  const members = `(SELECT DISTINCT ${ident(edge.field)} AS __key, TRUE AS __member FROM ${relationOf(edge.to)})`;
  return `LEFT JOIN ${members} AS ${alias} ON f.${ident(edge.column)} = ${alias}.__key`;
}

/**
 * The gold star schema from model metadata: every model with a role, and every `relationships` test of
 * one as a PK/FK edge, with how many referencing rows point at no member or at the unknown member.
 * Each edge reads one column of the referencing table.
 */
export async function starSchema(engine: Engine): Promise<StarSchema> {
  const built = new Map<string, boolean>();
  const tables: StarTable[] = [];
  for (const model of engine.models) {
    if (!model.config.role) continue;
    const exists = await relationExists(engine.reader, model);
    built.set(model.id, exists);
    const rows = exists
      ? Number(
          (await engine.reader.scalar<number | bigint>(`SELECT count(*) FROM ${relationOf(model)}`)) ?? 0,
        )
      : null;
    const referenced = [
      ...new Set(
        relationships(engine)
          .filter((r) => r.to.id === model.id)
          .map((r) => r.field),
      ),
    ];
    const declared = model.config.surrogate_key ? [model.config.surrogate_key] : model.config.unique_key;
    // A table with no declared key (a generated calendar) is keyed by what the facts point at.
    const key = declared ?? referenced;
    tables.push({
      id: model.id,
      role: model.config.role,
      materialized: model.config.materialized,
      rows,
      key,
    });
  }
  const edges: StarEdge[] = [];
  const counted = new Map<Relationship, { rows: number; missing: number; unknown: number }>();
  const all = relationships(engine);
  for (const edge of all) {
    if (!built.has(edge.to.id)) built.set(edge.to.id, await relationExists(engine.reader, edge.to));
  }
  const checkable = all.filter((edge) => built.get(edge.from.id) && built.get(edge.to.id));
  // Per edge, the referencing rows are first counted per key value (a column scan and an aggregate
  // with few groups), and only those distinct values are matched against the members.
  for (const edge of checkable) {
    const where = orphanPredicates(edge);
    const column = ident(edge.column);
    const [counts] = await engine.reader.all<{ rows: number; missing: number; unknown: number }>(
      `SELECT coalesce(sum(f.__n), 0)::DOUBLE AS rows,
              coalesce(sum(f.__n) FILTER (WHERE ${where.missing}), 0)::DOUBLE AS missing,
              coalesce(sum(f.__n) FILTER (WHERE ${where.unknown}), 0)::DOUBLE AS unknown
       FROM (SELECT ${column}, count(*) AS __n FROM ${relationOf(edge.from)} GROUP BY ${column}) AS f
       ${memberJoin(edge, 'd')}`,
    );
    counted.set(edge, {
      rows: counts?.rows ?? 0,
      missing: counts?.missing ?? 0,
      unknown: counts?.unknown ?? 0,
    });
  }
  for (const edge of all) {
    const base = { from: edge.from.id, column: edge.column, to: edge.to.id, field: edge.field };
    const counts = counted.get(edge);
    edges.push(
      counts
        ? { ...base, ...counts, checked: true }
        : { ...base, rows: 0, missing: 0, unknown: 0, checked: false },
    );
  }
  return { tables, edges };
}

/** The rows of `from` behind one edge's orphan count: those pointing at no member, the unknown member, or either. */
export async function starOrphans(
  engine: Engine,
  input: { from: string; column: string; to: string; kind: OrphanKind; limit: number },
): Promise<StarOrphans> {
  const edge = relationships(engine).find(
    (r) => r.from.id === input.from && r.column === input.column && r.to.id === input.to,
  );
  if (!edge) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `No relationship ${input.from}.${input.column} → ${input.to}: declare it as a relationships test in the model's config.`,
      { from: input.from, column: input.column, to: input.to },
    );
  }
  for (const model of [edge.from, edge.to]) {
    if (!(await relationExists(engine.reader, model))) {
      throw new LakehouseError('INVALID_ARGUMENT', `${model.id} is not built yet; run the pipeline first.`, {
        model: model.id,
      });
    }
  }
  const where = orphanPredicates(edge);
  const predicate = input.kind === 'all' ? `(${where.missing}) OR (${where.unknown})` : where[input.kind];
  const column = ident(edge.column);
  // The orphan key values (few), found on the per-value counts; the rows are then those holding one.
  const orphanValues = `SELECT f.${column} AS __v, f.__n FROM (
      SELECT ${column}, count(*) AS __n FROM ${relationOf(edge.from)} GROUP BY ${column}
    ) AS f ${memberJoin(edge, 'd')} WHERE ${predicate}`;
  const [found] = await engine.reader.all<{ total: number; has_null: boolean }>(
    `SELECT coalesce(sum(__n), 0)::DOUBLE AS total, coalesce(bool_or(__v IS NULL), FALSE) AS has_null
     FROM (${orphanValues})`,
  );
  const nullRows = found?.has_null ? ` OR ${column} IS NULL` : '';
  const result = await engine.query(
    `SELECT * FROM ${relationOf(edge.from)}
     WHERE ${column} IN (SELECT __v FROM (${orphanValues}))${nullRows}
     ORDER BY ${column} NULLS FIRST LIMIT ${input.limit}`,
  );
  const total = found?.total ?? 0;
  return { columns: result.columns, rows: result.rows as StarOrphans['rows'], total };
}

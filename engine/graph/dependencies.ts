import { escapeRegExp, LakehouseError, PROJECT_PLACEHOLDER } from '../api/errors.ts';
import { type Db, literal } from '../db/duckdb.ts';
import { QUARANTINE_COLUMN } from '../materializations/partition.ts';
import { RUNNER_VARIABLES } from '../project/config.ts';
import { closest, didYouMean } from '../project/config-issues.ts';
import type { Model } from '../project/models.ts';

export interface ModelNode {
  model: Model;
  /** Model ids this model reads. */
  upstream: string[];
  /** Source names (`source.<name>`) this model reads. */
  sources: string[];
  /**
   * The names (lower case) the model reads without a layer, bare or under `temp.`, its keyword_match
   * `catalog:` included: what a macro file's temp view or table answers to (macro-versions.ts).
   */
  bareNames: string[];
  /** Where the model's SQL reads its own table (its previous state), which its first run cannot. */
  readsItself?: { line: number | undefined };
}

export interface ModelGraph {
  /** Nodes in a topological order (upstream first; ties by layer then name). */
  nodes: ModelNode[];
  byId: Map<string, ModelNode>;
}

/**
 * Lists the relations a query reads, by asking DuckDB's own parser (json_serialize_sql), so a user
 * never keeps a dependency list by hand. CTE names are not relations and are left out.
 */
export async function referencedRelations(
  db: Db,
  sql: string,
  file = '(query)',
  firstLine = 1,
): Promise<string[]> {
  return (await sqlReferences(db, sql, file, firstLine)).relations;
}

/** A `getvariable('name')` call with a literal name, and the file line it is on. */
export interface VariableRead {
  name: string;
  line: number;
}

/**
 * The relations a query reads (see referencedRelations) and the variables it reads with a literal
 * `getvariable('name')`; from the parse tree, so comments and string contents are never mistaken for
 * calls. A computed name (`getvariable(x)`) cannot be known before the query runs and is left out.
 */
export async function sqlReferences(
  db: Db,
  sql: string,
  file = '(query)',
  firstLine = 1,
): Promise<SqlReferences> {
  const json = await db.scalar<string>(`SELECT json_serialize_sql(${literal(sql)})`);
  const tree = JSON.parse(json ?? '{}') as SerializedSql;
  const oneSelect =
    'a model is one SELECT statement (WITH ..., FROM ... or VALUES too): the engine writes the rows it ' +
    'returns. Remove any other statement (DELETE, INSERT, CREATE, UPDATE, or a second one after a ;)';
  if (tree.error) {
    const message = tree.error_message ?? 'cannot parse SQL';
    // DuckDB's words for a second statement or a DELETE, INSERT, CREATE ...: say what a model may hold.
    if (/Only SELECT statements can be serialized/i.test(message)) {
      // A PIVOT without IN (...) is a SELECT to DuckDB, but one its parser turns into two statements (the
      // first finds the values), so it has no parse tree to read the model's reads from.
      const pivot = /\bPIVOT\b/i.test(sql)
        ? "a PIVOT in a model must list the values its columns come from (PIVOT ... ON action IN ('search', " +
          "'play') USING ...): without IN, DuckDB runs a query first to find them, whose reads the engine cannot " +
          'tell, and the columns would change with the data'
        : undefined;
      throw sqlError(file, sql, firstLine, pivot ?? oneSelect, undefined);
    }
    throw sqlError(file, sql, firstLine, message, tree.position);
  }
  // Two SELECTs serialize without error; the run's wrapping of the model then failed on the `;`.
  if ((tree.statements?.length ?? 0) > 1) throw sqlError(file, sql, firstLine, oneSelect, undefined);
  // The warehouse's own name may qualify a table (warehouse.gold.dim_user): the same relation as gold.dim_user.
  const database = (await db.scalar<string>('SELECT lower(current_database())')) ?? '';
  return referencesIn(tree, sql, firstLine, database);
}

/** What json_serialize_sql gives for a query. */
interface SerializedSql {
  error?: boolean;
  error_message?: string;
  position?: string;
  statements?: unknown[];
}

/** The reads of a query (see sqlReferences), and the functions it calls by name, lower case. */
export interface SqlReferences {
  relations: string[];
  variables: VariableRead[];
  functions: string[];
  /** The file line where each relation (as in `relations`) is first read, from the parse tree. */
  readLines: Record<string, number>;
  /**
   * Names read as one quoted identifier holding a dot (`FROM "silver.customer_search"`), lower case, with
   * their line: DuckDB binds such a name as a table of that whole name, not as `layer.table`, so they are
   * not among `relations`.
   */
  dottedNames: { name: string; line: number | undefined }[];
}

/** The references in a parsed query's tree; `database` is the warehouse's own catalog name, lower case. */
function referencesIn(tree: SerializedSql, sql: string, firstLine: number, database: string): SqlReferences {
  const found = new Set<string>();
  const variables: VariableRead[] = [];
  const functions = new Set<string>();
  const readLines: Record<string, number> = {};
  const dottedNames: SqlReferences['dottedNames'] = [];
  // DuckDB's query_location counts bytes, not UTF-16 characters; a node without one has 2^64 - 1.
  const bytes = Buffer.from(sql);
  const lineAt = (location: unknown): number | undefined => {
    const at = Number(location);
    if (!Number.isInteger(at) || at < 0 || at > bytes.length) return undefined;
    return firstLine + bytes.subarray(0, at).toString().split('\n').length - 1;
  };
  // `ctes` are the CTE names in scope where `node` is: a bare name among them is no relation.
  const walk = (node: unknown, ctes: ReadonlySet<string>): void => {
    if (Array.isArray(node)) {
      for (const child of node) walk(child, ctes);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    let scope = ctes;
    // A recursive CTE's body reads itself by its name.
    if (record.type === 'RECURSIVE_CTE_NODE' && typeof record.cte_name === 'string') {
      scope = new Set([...scope, record.cte_name.toLowerCase()]);
    }
    // A CTE sees the ones before it, not itself: `WITH dim_user AS (SELECT * FROM dim_user ...)` reads the
    // gold table. The query after the WITH sees them all, and a subquery's CTEs only that subquery.
    const cteMap = record.cte_map as { map?: { key?: string; value?: unknown }[] } | undefined;
    for (const entry of cteMap?.map ?? []) {
      walk(entry.value, scope);
      if (entry.key) scope = new Set([...scope, entry.key.toLowerCase()]);
    }
    if (record.type === 'BASE_TABLE' && typeof record.table_name === 'string') {
      const schema = typeof record.schema_name === 'string' ? record.schema_name.toLowerCase() : '';
      const catalog = typeof record.catalog_name === 'string' ? record.catalog_name.toLowerCase() : '';
      const table = record.table_name.toLowerCase();
      const qualifier = [catalog === database && schema ? '' : catalog, schema].filter(Boolean);
      if (qualifier.length === 0 && table.includes('.') && !scope.has(table)) {
        dottedNames.push({ name: table, line: lineAt(record.query_location) });
      } else if (qualifier.length > 0 || !scope.has(table)) {
        const relation = [...qualifier, table].join('.');
        found.add(relation);
        const line = lineAt(record.query_location);
        const seen = readLines[relation];
        // Nodes are walked in no text order: the first read is the one nearest the start.
        if (line !== undefined && (seen === undefined || line < seen)) readLines[relation] = line;
      }
    }
    if (record.class === 'FUNCTION' && typeof record.function_name === 'string') {
      functions.add(record.function_name.toLowerCase());
    }
    const variable = literalVariable(record);
    if (variable !== undefined) {
      variables.push({ name: variable, line: lineAt(record.query_location) ?? firstLine });
    }
    for (const [key, value] of Object.entries(record)) if (key !== 'cte_map') walk(value, scope);
  };
  walk(tree, new Set());
  const relations = [...found].sort();
  return { relations, variables, functions: [...functions].sort(), readLines, dottedNames };
}

/** The name a `getvariable('<name>')` expression node reads, when it is a string literal. */
function literalVariable(record: Record<string, unknown>): string | undefined {
  if (record.class !== 'FUNCTION' || String(record.function_name).toLowerCase() !== 'getvariable') return;
  const [argument] = (record.children as { class?: string; value?: { value?: unknown } }[] | undefined) ?? [];
  const name = argument?.class === 'CONSTANT' ? argument.value?.value : undefined;
  return typeof name === 'string' ? name : undefined;
}

/** A parse or bind error located at the right line of the model file. */
function sqlError(
  file: string,
  sql: string,
  firstLine: number,
  message: string,
  position?: string,
): LakehouseError {
  const offset = position === undefined ? Number.NaN : Number(position);
  const line = Number.isFinite(offset) ? firstLine + sql.slice(0, offset).split('\n').length - 1 : undefined;
  const where = line === undefined ? file : `${file}:${line}`;
  return new LakehouseError('MODEL_SQL_ERROR', `${where}: ${message}`, { file, line });
}

/**
 * Builds the model graph from the SQL of every model and orders it; a cycle is an error naming its
 * models, and so is a read of a source or a variable (`vars:`, besides the runner's own) the project
 * does not declare.
 */
export async function buildGraph(
  db: Db,
  models: Model[],
  sourceNames: string[],
  variableNames: string[],
  unparsed: LakehouseError[] = [],
): Promise<ModelGraph> {
  const { graph, errors } = await buildPartialGraph(db, models, sourceNames, variableNames, unparsed);
  if (errors[0]) throw errors[0];
  return graph;
}

/**
 * The graph of the models that can be ordered, and an error for each that cannot: SQL that does not
 * parse, an undeclared source or variable, a cycle (its models and those reading it are left out).
 * Edges to a model left out are dropped, so reads see every valid model; a run must refuse while
 * `errors` is not empty.
 */
export async function buildPartialGraph(
  db: Db,
  models: Model[],
  sourceNames: string[],
  variableNames: string[],
  unparsed: LakehouseError[] = [],
): Promise<{ graph: ModelGraph; errors: LakehouseError[] }> {
  // A model whose file does not parse still builds its table: reading it is no orphan read.
  const ids = new Set([...models.map((m) => m.id), ...builtByBrokenFiles(unparsed).keys()]);
  const sources = new Set(sourceNames.map((s) => `source.${s}`));
  const layerTables = await existingLayerTables(db);
  // DuckDB's names are case-insensitive: a read of gold.my_model is the model of My_Model.sql.
  const idOf = new Map([...ids].map((id) => [id.toLowerCase(), id]));
  // Models run with search_path gold,main: a bare name reads the gold table of that name.
  const resolve = (rel: string) => {
    const named =
      !rel.includes('.') && (idOf.has(`gold.${rel}`) || layerTables.has(`gold.${rel}`)) ? `gold.${rel}` : rel;
    return idOf.get(named) ?? named;
  };
  const byId = new Map(models.map((m) => [m.id, m]));
  const macros = await projectMacroReads(db);
  const { tempViews, tempNames, mainNames } = await bareRelations(db);
  // DuckDB looks a bare name up in temp first: a macro file's temp view answers to it before a gold table.
  const resolveRead = (rel: string) => {
    const temp = tempRelationName(rel, tempNames);
    return temp === undefined ? resolve(rel) : `temp.main.${temp}`;
  };
  // A bare test target the project cannot know of while a macro file is broken: its temp view may be missing.
  const macroFileBroken = unparsed.some((error) => error.details.macros === true);
  const nodes: ModelNode[] = [];
  const origins = new Map<string, Map<string, ReadOrigin>>();
  const errors: LakehouseError[] = [];
  for (const model of models) {
    try {
      const existing = layerTables.get(model.id.toLowerCase());
      if (existing !== undefined && existing !== model.id) throw caseRenameError(model, existing);
      const placed = await nodeOf(db, model, {
        ids,
        sources,
        variableNames,
        resolve: resolveRead,
        layerTables,
        models: byId,
        macros,
        tempViews,
        tempNames,
        mainNames,
        macroFileBroken,
      });
      nodes.push(placed.node);
      origins.set(model.id, placed.origins);
    } catch (error) {
      if (!(error instanceof LakehouseError)) throw error;
      error.details.model ??= model.id;
      errors.push(error);
    }
  }
  const valid = new Set(nodes.map((n) => n.model.id));
  for (const node of nodes) node.upstream = node.upstream.filter((id) => valid.has(id));
  const { ordered, cycle } = topologicalOrder(nodes, origins);
  if (cycle) errors.push(cycle);
  return { graph: { nodes: ordered, byId: new Map(ordered.map((n) => [n.model.id, n])) }, errors };
}

/** Model id → file of each model file that does not parse, from the errors loadModels gave for them. */
export function builtByBrokenFiles(unparsed: LakehouseError[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const error of unparsed) {
    const { model, file } = error.details;
    if (typeof model === 'string' && typeof file === 'string') files.set(model, file);
  }
  return files;
}

/** Puts `next` in place of `graph`'s contents, so every holder of `graph` (the engine, a run) sees it. */
export function replaceGraph(graph: ModelGraph, next: ModelGraph): void {
  graph.nodes.splice(0, graph.nodes.length, ...next.nodes);
  graph.byId.clear();
  for (const [id, node] of next.byId) graph.byId.set(id, node);
}

/** What the models of a project may read, to place one model in the graph. */
interface GraphScope {
  ids: Set<string>;
  sources: Set<string>;
  variableNames: string[];
  /** A relation name as written → the model id it reads (bare names are gold tables). */
  resolve: (relation: string) => string;
  /** `layer.name` of every bronze, silver and gold table or view the warehouse holds now. */
  layerTables: Map<string, string>;
  /** Every model whose file parses, by id. */
  models: Map<string, Model>;
  /** What each project macro reads, by lower-case name (see projectMacroReads). */
  macros: Map<string, MacroReads>;
  /** What each temp view (a macro file's) reads, by lower-case name (see bareRelations). */
  tempViews: Map<string, MacroReads>;
  /** Lower-case names of the temp tables and views (a macro file's), which a bare name binds to first. */
  tempNames: Set<string>;
  /** Lower-case names a bare name binds to after gold: the main schema's, DuckDB's own views (duckdb_tables). */
  mainNames: Set<string>;
  /** Whether a macro file failed to load, so a temp view a test names may be missing for that alone. */
  macroFileBroken: boolean;
}

/** The relations a project macro's body reads, and the functions it calls (lower case). */
interface MacroReads {
  relations: string[];
  calls: string[];
}

/**
 * What each macro the macro files made reads: a model calling a table macro (`FROM known_users()`) or
 * one with a subquery reads what the macro's body reads, so it runs after the models building those
 * tables (not on their previous state) and `--select m+` takes it. One query for every macro: listing
 * DuckDB's functions is the cost (~30 ms), once per graph.
 */
async function projectMacroReads(db: Db): Promise<Map<string, MacroReads>> {
  const rows = await db.all<{ name: string; tree: string }>(
    `SELECT lower(function_name) AS name,
       json_serialize_sql(CASE function_type WHEN 'table_macro' THEN macro_definition
                          ELSE 'SELECT ' || macro_definition END) AS tree
     FROM duckdb_functions()
     WHERE database_name = 'temp' AND function_type IN ('macro', 'table_macro') AND macro_definition IS NOT NULL`,
  );
  const database = (await db.scalar<string>('SELECT lower(current_database())')) ?? '';
  const reads = new Map<string, MacroReads>();
  for (const { name, tree } of rows) {
    const parsed = JSON.parse(tree) as SerializedSql;
    // DuckDB took the macro, so its body parses; the text it gives back is no model's, nothing to report.
    if (parsed.error) continue;
    const found = referencesIn(parsed, '', 1, database);
    // Overloads (`m(a)`, `m(a, b)`) share the name: a call may be to either.
    const entry = reads.get(name) ?? { relations: [], calls: [] };
    entry.relations.push(...found.relations);
    entry.calls.push(...found.functions.filter((f) => f !== name));
    reads.set(name, entry);
  }
  return reads;
}

/**
 * The relations a model reads through the project macros it calls (`functions`) and the temp views it reads
 * (`views`, lower case), each with how it reaches them (`its call of the macro m`, `the temp view v`): a macro
 * or view calling another macro or reading another temp view is followed, once each.
 */
function indirectReads(functions: string[], views: string[], scope: GraphScope): Map<string, string> {
  const { macros, tempViews, tempNames } = scope;
  const reads = new Map<string, string>();
  const seen = new Set<string>();
  const pending = [
    ...functions
      .filter((f) => macros.has(f))
      .map((f) => ({ key: `macro ${f}`, via: `its call of the macro ${f}` })),
    ...views.map((v) => ({ key: `view ${v}`, via: `the temp view ${v}` })),
  ];
  while (pending.length > 0) {
    const { key, via } = pending.shift()!;
    if (seen.has(key)) continue;
    seen.add(key);
    const name = key.slice(key.indexOf(' ') + 1);
    const entry = key.startsWith('macro ') ? macros.get(name) : tempViews.get(name);
    for (const relation of entry?.relations ?? []) {
      const view = tempRelationName(relation, tempNames);
      if (view !== undefined) pending.push({ key: `view ${view}`, via });
      else if (!reads.has(relation)) reads.set(relation, via);
    }
    for (const next of entry?.calls ?? []) if (macros.has(next)) pending.push({ key: `macro ${next}`, via });
  }
  return reads;
}

/** The temp relation (lower case) `relation` names as DuckDB binds it (`x`, `temp.x`, `temp.main.x`), if any. */
function tempRelationName(relation: string, tempNames: Set<string>): string | undefined {
  const name = unqualifiedTempName(relation);
  return name !== undefined && tempNames.has(name) ? name : undefined;
}

/** The name `relation` would give a temp relation if one had it (`x`, `temp.x`, `temp.main.x` → x). */
function unqualifiedTempName(relation: string): string | undefined {
  return /^(?:temp\.(?:main\.)?)?([^.]+)$/.exec(relation)?.[1];
}

/** What precedes the query in a view's SQL as DuckDB gives it: `CREATE TEMP VIEW name [(columns)] AS `. */
const VIEW_PREFIX = String.raw`^CREATE\s+TEMP(ORARY)?\s+VIEW\s+("([^"]|"")*"|[^\s"(]+)\s*(\(("([^"]|"")*"|[^"()])*\)\s*)?AS\s+`;

/**
 * The relations a bare name can bind to besides gold's: the connection's temp tables and views (a macro
 * file's `CREATE TEMP VIEW x AS SELECT ... FROM silver.y`), which DuckDB looks in before the search path,
 * with what each view reads, so a model reading `x` runs after silver.y and `--select silver.y+` takes it;
 * and, after gold on the search path, the warehouse's main schema and DuckDB's own views (duckdb_tables,
 * pg_tables). A temp table is a copy made when the
 * project opened: what it was made from is not followed. One query, as for the macros.
 */
async function bareRelations(
  db: Db,
): Promise<{ tempViews: Map<string, MacroReads>; tempNames: Set<string>; mainNames: Set<string> }> {
  const rows = await db.all<{ name: string; temp: boolean; tree: string | null }>(
    `SELECT lower(view_name) AS name, database_name = 'temp' AS temp,
       CASE WHEN database_name = 'temp' THEN json_serialize_sql(regexp_replace(sql, ${literal(VIEW_PREFIX)}, ''))
       END AS tree
     FROM duckdb_views()
     WHERE (database_name = 'temp' AND schema_name = 'main')
        OR (database_name = current_database() AND schema_name = 'main' AND NOT internal)
        OR (database_name = 'system' AND schema_name IN ('main', 'pg_catalog'))
     UNION ALL
     SELECT lower(table_name), database_name = 'temp', NULL FROM duckdb_tables()
     WHERE schema_name = 'main' AND (database_name = 'temp' OR database_name = current_database())`,
  );
  const database = (await db.scalar<string>('SELECT lower(current_database())')) ?? '';
  const tempViews = new Map<string, MacroReads>();
  const tempNames = new Set<string>();
  const mainNames = new Set<string>();
  for (const { name, temp, tree } of rows) {
    (temp ? tempNames : mainNames).add(name);
    const parsed = tree === null ? undefined : (JSON.parse(tree) as SerializedSql);
    // DuckDB took the view, so its query parses: a text this cannot cut is read as reading nothing.
    if (!parsed || parsed.error) continue;
    const found = referencesIn(parsed, '', 1, database);
    tempViews.set(name, { relations: found.relations, calls: found.functions });
  }
  return { tempViews, tempNames, mainNames };
}

/** The bronze, silver and gold tables and views in the warehouse: lower-case `layer.name` → as created. */
async function existingLayerTables(db: Db): Promise<Map<string, string>> {
  const rows = await db.all<{ name: string }>(
    `SELECT schema_name || '.' || table_name AS name FROM duckdb_tables()
       WHERE database_name = current_database() AND schema_name IN ('bronze', 'silver', 'gold')
     UNION ALL
     SELECT schema_name || '.' || view_name FROM duckdb_views()
       WHERE database_name = current_database() AND schema_name IN ('bronze', 'silver', 'gold')`,
  );
  return new Map(rows.map((r) => [r.name.toLowerCase(), r.name]));
}

/**
 * A model file renamed in case only (user_plans_map.sql → User_Plans_Map.sql) names the same DuckDB table,
 * while partitions and run history are kept by the model's name as written: the new name would hold no
 * dates, and its view would hide the partitions written under the old one.
 */
function caseRenameError(model: Model, existing: string): LakehouseError {
  const [layer, name] = existing.split('.') as [string, string];
  return new LakehouseError(
    'MODEL_INVALID',
    `${model.file}: gives ${model.id}, but the warehouse holds that table as ${existing} (DuckDB's names ignore ` +
      `case, the engine's records of its dates do not). Rename the file back to ${name}.sql, or give the model ` +
      `another name; \`lakehouse drop ${PROJECT_PLACEHOLDER} ${layer}.${name}\` then removes the old table.`,
    { file: model.file, model: model.id, relation: existing },
  );
}

/**
 * A read of a layer table that no model produces any more: its model file was removed or renamed, so
 * the table would never change again and downstream would build on stale rows. (A name no table has
 * is left to DuckDB's binder, whose error has the line and the closest table.)
 */
function orphanReadError(model: Model, relation: string, via?: string): LakehouseError {
  const [layer, name] = relation.split('.') as [string, string];
  return new LakehouseError(
    'MODEL_INVALID',
    `${model.file}: reads ${relation}${throughIndirect(via)}, which no model produces any more (there is no models/${layer}/${name}.sql): ` +
      'the table keeps what its model last wrote and would never change again. Restore the model file, ' +
      `or change this model to read another table; \`lakehouse drop ${PROJECT_PLACEHOLDER} ${relation}\` removes the old table.`,
    { file: model.file, relation },
  );
}

/** How a read through a macro or temp view is named in errors: the model's SQL does not name the table itself. */
function throughIndirect(via: string | undefined): string {
  return via === undefined ? '' : ` (through ${via})`;
}

/**
 * The partition models writing `quarantine.<name>`: those of that name giving a quarantine reason. A read
 * of it comes after them, or it would miss the date's rejected rows. None when the reader is one of them:
 * it reads its own earlier rows.
 */
function quarantineWriters(reader: Model, relation: string, models: Map<string, Model>): string[] {
  const name = relation.slice('quarantine.'.length);
  const reason = new RegExp(`\\b${QUARANTINE_COLUMN}\\b`, 'i');
  const writers = [...models.values()].filter(
    (m) => m.config.materialized === 'partition' && m.name.toLowerCase() === name && reason.test(m.sql),
  );
  return writers.some((m) => m.id === reader.id) ? [] : writers.map((m) => m.id);
}

/**
 * The file line where the model's SQL reads `relation` (`layer.name` or a bare name): where the parse
 * tree has it (`readLines`), else where the name is first written, if found.
 */
function lineOfRead(
  model: Model,
  relation: string,
  readLines: Record<string, number> = {},
): number | undefined {
  if (readLines[relation] !== undefined) return readLines[relation];
  const [layer = '', name = ''] = relation.includes('.') ? relation.split('.') : ['', relation];
  // The layer-qualified name (quoted or not) first: the bare name may also be a column's alias.
  const at =
    (layer
      ? new RegExp(`\\b${escapeRegExp(layer)}"?\\s*\\.\\s*"?${escapeRegExp(name)}\\b`, 'i').exec(model.sql)
      : null) ?? new RegExp(`\\b${escapeRegExp(name)}\\b`, 'i').exec(model.sql);
  return at ? model.sqlStartLine + model.sql.slice(0, at.index).split('\n').length - 1 : undefined;
}

/**
 * A read of `layer.name` that no model builds and no table holds: said when the project loads, at the
 * line that names it, rather than by DuckDB's binder once a run reaches the model, after the date's
 * other work. (A bare name has unknownBareTableError.)
 */
function unknownLayerTableError(
  model: Model,
  relation: string,
  ids: string[],
  via: string | undefined,
  readLines: Record<string, number>,
): LakehouseError {
  const line = via === undefined ? lineOfRead(model, relation, readLines) : undefined;
  return new LakehouseError(
    'MODEL_INVALID',
    `${model.file}${line ? `:${line}` : ''}: reads ${relation}${throughIndirect(via)}, which no model builds and no table holds` +
      `${didYouMean(relation, ids)}. Fix the name, or add models/${relation.replace('.', '/')}.sql.`,
    { file: model.file, line, model: model.id, relation },
  );
}

/**
 * `reads dim_platfrm, a name without a layer, so gold.dim_platfrm or a temp view of a macro file, and neither
 * exists (did you mean "gold.dim_platform"?)`: the closest model of any layer is offered, as a bare name
 * meant for silver's table (`user_plans_map`) is a gold table to DuckDB.
 */
function bareNameProblem(relation: string, ids: string[]): string {
  const bare = relation.toLowerCase();
  const byName = new Map(ids.map((id) => [id.slice(id.indexOf('.') + 1).toLowerCase(), id]));
  const guess = byName.get(bare) ?? byName.get(closest(bare, [...byName.keys()]) ?? '');
  return (
    `reads ${relation}, a name without a layer, so gold.${relation} or a temp view of a macro file, and ` +
    `neither exists${guess ? ` (did you mean "${guess}"?)` : ''}`
  );
}

/** The gold models, as a bare name's error lists them. */
function goldModels(ids: string[]): string {
  return (
    ids
      .filter((id) => id.startsWith('gold.'))
      .sort()
      .join(', ') || 'none'
  );
}

/**
 * A model's SQL reading a bare name that no temp view, gold model or table answers to: said when the project
 * loads, at its line, not by DuckDB's binder once the run reaches the model, after the date's other work.
 */
function unknownBareTableError(
  model: Model,
  relation: string,
  ids: string[],
  readLines: Record<string, number>,
): LakehouseError {
  const line = lineOfRead(model, relation, readLines);
  return new LakehouseError(
    'MODEL_INVALID',
    `${model.file}${line ? `:${line}` : ''}: ${bareNameProblem(
      relation,
      ids.filter((id) => id !== model.id),
    )}. ` +
      `Name the table with its layer (layer.table; gold models: ${goldModels(ids)}), or add models/gold/${relation}.sql.`,
    { file: model.file, line, model: model.id, relation },
  );
}

/**
 * A relationships test whose `to:` names a table that no model builds and no table holds: said when the
 * project loads, as for such a read in the SQL, not when the run reaches the test after the date's other
 * work. A bare name is a macro file's temp view or a gold table to DuckDB: the closest model of any layer
 * is offered (`to: user_plans_map` meant silver's), and the gold models are listed.
 */
function unknownTestTargetError(model: Model, index: number, to: string, ids: string[]): LakehouseError {
  const source = model.testSources[index];
  const where = source ? `${model.file}:${source.line}` : model.file;
  const text = source?.text ?? `relationships: {to: ${to}}`;
  const relation = to.trim();
  if (relation.includes('.')) {
    return new LakehouseError(
      'MODEL_INVALID',
      `${where}: test "${text}" reads ${relation}, which no model builds and no table holds` +
        `${didYouMean(relation, ids)}. Fix "to:" in the test, or add models/${relation.replace('.', '/')}.sql.`,
      { file: model.file, line: source?.line, model: model.id, test: text, relation },
    );
  }
  return new LakehouseError(
    'MODEL_INVALID',
    `${where}: test "${text}" ${bareNameProblem(relation, ids)}. Fix "to:" in the test with the table's layer ` +
      `(layer.table; gold models: ${goldModels(ids)}), or add models/gold/${relation}.sql.`,
    { file: model.file, line: source?.line, model: model.id, test: text, relation },
  );
}

/** The layers and catalogs a `layer.table` name starts with, which a quoted `"layer.table"` hides. */
const QUALIFIERS = new Set(['bronze', 'silver', 'gold', 'quarantine', 'source']);

/**
 * A read of `"silver.customer_search"`, one quoted name holding a dot: DuckDB looks for a table of that whole
 * name (and fails: "Table with name silver.customer_search does not exist! Did you mean
 * silver.customer_search?") where the user meant the layer's table. Refused when the project loads, at its
 * line. Another dotted name (`FROM "events.parquet"`, a file DuckDB reads itself) is no model's, so no edge.
 */
function refuseDottedNames(model: Model, names: SqlReferences['dottedNames'], scope: GraphScope): void {
  for (const { name, line } of names) {
    const [qualifier = '', ...rest] = name.split('.');
    if (!QUALIFIERS.has(qualifier) || scope.tempNames.has(name) || scope.mainNames.has(name)) continue;
    const table = rest.join('.');
    throw new LakehouseError(
      'MODEL_INVALID',
      `${model.file}${line ? `:${line}` : ''}: reads "${name}", one quoted name, which DuckDB looks up as a ` +
        `table named ${name} in no layer, not as the table ${table} of ${qualifier}. Write ${qualifier}.${table} ` +
        `unquoted, or quote each part: "${qualifier}"."${table}".`,
      { file: model.file, line, model: model.id, relation: name },
    );
  }
}

/**
 * The partition model a `reconcile_with` names, as its id: a misspelt or miscased name would count no
 * rows (an ACCOUNTING_MISMATCH blaming the model), and a table has no per-date count to reconcile with.
 */
function reconcileTarget(model: Model, { resolve, models, ids }: GraphScope): string {
  const written = model.config.reconcile_with ?? '';
  const id = resolve(written.trim().toLowerCase());
  const target = models.get(id);
  // A model whose file does not parse has its own error; the run refuses until it is fixed.
  if (!target && ids.has(id)) return id;
  if (target && target.id !== model.id && target.config.materialized === 'partition') return target.id;
  const line = model.configLines.reconcile_with;
  const partitions = [...models.values()]
    .filter((m) => m.config.materialized === 'partition' && m.id !== model.id)
    .map((m) => m.id);
  const problem = !target
    ? `names no model${didYouMean(written, partitions)}`
    : target.id === model.id
      ? 'names this model itself'
      : `names ${target.id}, which is materialized: ${target.config.materialized}, not partition, so it has no rows per date to count`;
  throw new LakehouseError(
    'MODEL_INVALID',
    `${model.file}${line ? `:${line}` : ''}: reconcile_with: ${written} ${problem}. It must name the upstream ` +
      `partition model whose rows this one accounts for (partition models: ${partitions.join(', ') || 'none'}): ` +
      'fix the name, or remove reconcile_with.',
    { file: model.file, line, model: model.id, setting: 'reconcile_with' },
  );
}

/**
 * How a model reads one upstream model, to name in a cycle's error: the file line, and what reads it when
 * not the SQL's FROM (a relationships test, reconcile_with, catalog:, a macro).
 */
interface ReadOrigin {
  line?: number;
  how?: string;
}

async function nodeOf(
  db: Db,
  model: Model,
  scope: GraphScope,
): Promise<{ node: ModelNode; origins: Map<string, ReadOrigin> }> {
  const { ids, sources, variableNames, resolve } = scope;
  const {
    relations: written,
    variables,
    functions,
    readLines,
    dottedNames,
  } = await sqlReferences(db, model.sql, model.file, model.sqlStartLine);
  refuseUndeclaredVariables(model, variables, variableNames);
  refuseDottedNames(model, dottedNames, scope);
  const views = written.flatMap((rel) => tempRelationName(rel, scope.tempNames) ?? []);
  const indirect = indirectReads(functions, views, scope);
  const named = [...new Set([...written, ...indirect.keys()])];
  const relations = named.map(resolve);
  const upstream: string[] = [];
  const origins = new Map<string, ReadOrigin>();
  // The first way a model reads another is the one a cycle's error names: its SQL's, when it has one.
  const readFrom = (ids: string[], origin: ReadOrigin) => {
    upstream.push(...ids);
    for (const id of ids) if (!origins.has(id)) origins.set(id, origin);
  };
  const usedSources: string[] = [];
  let readsItself: ModelNode['readsItself'];
  for (const [i, rel] of relations.entries()) {
    if (rel === model.id) {
      // A model may read its own previous state, once a run has built it (runner.ts refuses before).
      readsItself = { line: lineOfRead(model, named[i] ?? rel, readLines) };
      continue;
    }
    // Read by the SQL itself or through a macro or temp view (`via`), which the error then names.
    const via = written.includes(named[i]!) ? undefined : indirect.get(named[i]!);
    const line = via === undefined ? lineOfRead(model, named[i] ?? rel, readLines) : undefined;
    if (ids.has(rel)) readFrom([rel], { line, how: via && `through ${via}` });
    else if (rel.startsWith('quarantine.')) {
      readFrom(quarantineWriters(model, rel, scope.models), {
        line,
        how: `through ${rel}, the rows it rejects`,
      });
    } else if (/^(bronze|silver|gold)\./.test(named[i]!) && !scope.layerTables.has(rel)) {
      throw unknownLayerTableError(
        model,
        named[i]!,
        [...ids].filter((id) => id !== model.id),
        via,
        readLines,
      );
    } else if (scope.layerTables.has(rel)) throw orphanReadError(model, rel, via);
    else if (sources.has(rel)) usedSources.push(rel.slice('source.'.length));
    else if (rel.startsWith('source.')) {
      throw new LakehouseError(
        'MODEL_INVALID',
        `${model.file}: reads ${rel}, but lakehouse.yaml declares no source named "${rel.slice(7)}". Declared: ${[...sources].join(', ') || 'none'}.`,
        { file: model.file, relation: rel },
      );
    } else if (
      via === undefined &&
      !rel.includes('.') &&
      !scope.mainNames.has(rel) &&
      !scope.macroFileBroken &&
      // A path or glob DuckDB may read as a file (a name with an extension is among dottedNames).
      !/[/\\*?:]/.test(rel)
    ) {
      // No temp view, gold table or model answers to the name: the binder would fail once the run got here.
      throw unknownBareTableError(model, rel, [...ids], readLines);
    }
  }
  // Relationship tests read their parent table, so the parent must be built first.
  for (const [index, test] of model.config.tests.entries()) {
    if ('relationships' in test) {
      const parent = resolve(test.relationships.to.toLowerCase());
      const line = model.testSources[index]?.line;
      const view = tempRelationName(parent, scope.tempNames);
      if (view !== undefined) {
        // A macro file's temp view: the test reads what the view reads.
        for (const [rel, via] of indirectReads([], [view], scope)) {
          const id = resolve(rel);
          if (id !== model.id && ids.has(id))
            readFrom([id], { line, how: `in its relationships test, through ${via}` });
        }
      } else if (parent !== model.id && ids.has(parent))
        readFrom([parent], { line, how: 'in its relationships test' });
      else if (parent !== model.id && scope.layerTables.has(parent)) throw orphanReadError(model, parent);
      else if (/^(bronze|silver|gold)\./.test(parent) && !ids.has(parent) && !scope.layerTables.has(parent)) {
        throw unknownTestTargetError(model, index, test.relationships.to, [...ids]);
      } else if (!parent.includes('.') && !scope.mainNames.has(parent) && !scope.macroFileBroken) {
        // A bare name is a temp view or a gold table to DuckDB: neither exists, so the test could only fail.
        throw unknownTestTargetError(model, index, test.relationships.to, [...ids]);
      }
    }
  }
  if (model.config.reconcile_with !== undefined) {
    const reconciled = reconcileTarget(model, scope);
    // The run counts the partition of this id: written as the graph knows it, in any case.
    model.config.reconcile_with = reconciled;
    if (reconciled !== model.id) {
      readFrom([reconciled], {
        line: model.configLines.reconcile_with,
        how: 'to count its rows (reconcile_with:)',
      });
    }
  }
  // The catalog of a keyword_match model is read by the engine, not by its SQL.
  const catalog = model.config.catalog ? resolve(model.config.catalog.toLowerCase()) : undefined;
  if (catalog) {
    if (ids.has(catalog)) readFrom([catalog], { line: model.configLines.catalog, how: 'as its catalog:' });
    else if (scope.layerTables.has(catalog)) throw orphanReadError(model, catalog);
    else if (sources.has(catalog)) usedSources.push(catalog.slice('source.'.length));
  }
  const node = {
    model,
    upstream: [...new Set(upstream)],
    sources: [...new Set(usedSources)],
    bareNames: [
      ...new Set(
        [
          ...written,
          ...(model.config.catalog === undefined ? [] : [model.config.catalog.toLowerCase()]),
        ].flatMap((relation) => unqualifiedTempName(relation) ?? []),
      ),
    ],
    ...(readsItself ? { readsItself } : {}),
  };
  return { node, origins };
}

/**
 * An undeclared variable reads as NULL: a var renamed in lakehouse.yaml (dim_date_start → dim_date_strat)
 * would silently change what a model computes. DuckDB names variables case-insensitively.
 */
export function refuseUndeclaredVariables(model: Model, reads: VariableRead[], declared: string[]): void {
  const known = new Set([...declared, ...RUNNER_VARIABLES].map((name) => name.toLowerCase()));
  const unknown = reads.find((read) => !known.has(read.name.toLowerCase()));
  if (!unknown) return;
  const listed = declared.length > 0 ? declared.join(', ') : 'none';
  throw new LakehouseError(
    'MODEL_INVALID',
    `${model.file}:${unknown.line}: getvariable('${unknown.name}') reads a variable lakehouse.yaml does not ` +
      `declare, so it would be NULL${didYouMean(unknown.name, declared)}. Declared under vars: ${listed} ` +
      `(${RUNNER_VARIABLES.join(', ')} is set by the runner). Add it under vars: in lakehouse.yaml, or fix the name.`,
    { file: model.file, line: unknown.line, model: model.id, variable: unknown.name, declared },
  );
}

const LAYER_RANK: Record<string, number> = { bronze: 0, silver: 1, gold: 2 };

function topologicalOrder(
  nodes: ModelNode[],
  origins: Map<string, Map<string, ReadOrigin>>,
): { ordered: ModelNode[]; cycle?: LakehouseError } {
  const byId = new Map(nodes.map((n) => [n.model.id, n]));
  const remaining = new Map(nodes.map((n) => [n.model.id, n.upstream.length]));
  const ordered: ModelNode[] = [];
  const rank = (n: ModelNode) => `${LAYER_RANK[n.model.layer] ?? 9}:${n.model.name}`;
  const ready = nodes.filter((n) => n.upstream.length === 0);
  while (ready.length > 0) {
    ready.sort((a, b) => rank(a).localeCompare(rank(b)));
    const next = ready.shift()!;
    ordered.push(next);
    for (const n of nodes) {
      if (!n.upstream.includes(next.model.id)) continue;
      const left = (remaining.get(n.model.id) ?? 0) - 1;
      remaining.set(n.model.id, left);
      if (left === 0) ready.push(n);
    }
  }
  if (ordered.length === nodes.length) return { ordered };
  const unordered = nodes.filter((n) => !ordered.includes(n));
  // Models downstream of a cycle are unordered too; name only those that reach themselves.
  const stuck = unordered.filter((n) => reachesItself(n.model.id, byId)).map((n) => n.model.id);
  const cycle = new LakehouseError(
    'MODEL_CYCLE',
    `Models ${stuck.join(', ')} depend on each other in a cycle: ${describeCycles(stuck, byId, origins)}. None of them can run ` +
      'first, as a model runs after what it reads: remove one of these reads.',
    { models: stuck, files: stuck.map((id) => byId.get(id)?.model.file) },
  );
  return { ordered, cycle };
}

/**
 * `gold.a (models/gold/a.sql:5) reads gold.b in its relationships test and gold.b (models/gold/b.sql:7) reads
 * gold.a`: the shortest loop through each model of `stuck` not yet named, so a user sees which read to drop.
 */
function describeCycles(
  stuck: string[],
  byId: Map<string, ModelNode>,
  origins: Map<string, Map<string, ReadOrigin>>,
): string {
  const inCycle = new Set(stuck);
  const named = new Set<string>();
  const loops: string[] = [];
  for (const start of stuck) {
    if (named.has(start)) continue;
    const loop = shortestLoop(start, byId, inCycle);
    for (const id of loop) named.add(id);
    const steps = loop.map((id, i) => {
      const next = loop[(i + 1) % loop.length]!;
      const origin = origins.get(id)?.get(next) ?? {};
      const file = byId.get(id)?.model.file ?? id;
      const where = origin.line === undefined ? file : `${file}:${origin.line}`;
      return `${id} (${where}) reads ${next}${origin.how ? ` ${origin.how}` : ''}`;
    });
    // The last step reads the first model again, which closes the loop.
    loops.push(steps.length > 1 ? `${steps.slice(0, -1).join(', ')} and ${steps.at(-1)}` : steps.join(''));
  }
  return loops.join('; and ');
}

/** The models of the shortest read loop from `start` back to it, within `within`, in read order. */
function shortestLoop(start: string, byId: Map<string, ModelNode>, within: Set<string>): string[] {
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const current = queue.shift()!;
    for (const up of byId.get(current)?.upstream ?? []) {
      if (up === start) {
        const loop = [current];
        while (loop[0] !== start) loop.unshift(cameFrom.get(loop[0]!)!);
        return loop;
      }
      if (!within.has(up) || cameFrom.has(up)) continue;
      cameFrom.set(up, current);
      queue.push(up);
    }
  }
  return [start];
}

function reachesItself(id: string, byId: Map<string, ModelNode>): boolean {
  const seen = new Set<string>();
  const stack = [...(byId.get(id)?.upstream ?? [])];
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (current === id) return true;
    if (seen.has(current)) continue;
    seen.add(current);
    stack.push(...(byId.get(current)?.upstream ?? []));
  }
  return false;
}

/** A `--select` selector: the model name, and whether its upstream (`+m`) and downstream (`m+`) come too. */
export interface Selector {
  name: string;
  up: boolean;
  down: boolean;
}

/** Parses a selector; spaces around it are dropped, anything else that is not `[+]name[+]` is refused. */
export function parseSelector(raw: string): Selector {
  const match = /^(\+?)([^+\s]+)(\+?)$/.exec(raw.trim());
  if (!match) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `"${raw}" is no model selector: a selector is a model name, with one + before it to add its upstream models ` +
        '(+silver.customer_search), one + after it to add its downstream models (silver.customer_search+), or both.',
      { selector: raw },
    );
  }
  return { name: (match[2] ?? '').toLowerCase(), up: match[1] === '+', down: match[3] === '+' };
}

/**
 * Resolves a selection: `m` (just m), `m+` (m and everything downstream), `+m` (m and everything upstream).
 * Returns model ids in graph order. An unknown model is INVALID_ARGUMENT with details.name.
 */
export function selectModels(graph: ModelGraph, selectors: string[] | undefined): string[] {
  if (!selectors || selectors.length === 0) return graph.nodes.map((n) => n.model.id);
  const chosen = new Set<string>();
  for (const raw of selectors) {
    const { name, up, down } = parseSelector(raw);
    // Selectors are lower-cased, and model names compared so: DuckDB's names are case-insensitive.
    const matches = graph.nodes.filter(
      (n) => n.model.id.toLowerCase() === name || n.model.name.toLowerCase() === name,
    );
    if (matches.length === 0) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `No model named "${name}" (selected as ${raw.trim()}). Models: ${graph.nodes.map((n) => n.model.id).join(', ')}`,
        { selector: raw, name },
      );
    }
    for (const match of matches) {
      chosen.add(match.model.id);
      if (down) for (const id of downstreamOf(graph, match.model.id)) chosen.add(id);
      if (up) for (const id of upstreamOf(graph, match.model.id)) chosen.add(id);
    }
  }
  return graph.nodes.map((n) => n.model.id).filter((id) => chosen.has(id));
}

export function downstreamOf(graph: ModelGraph, id: string): Set<string> {
  const out = new Set<string>();
  const visit = (current: string) => {
    for (const n of graph.nodes) {
      if (n.upstream.includes(current) && !out.has(n.model.id)) {
        out.add(n.model.id);
        visit(n.model.id);
      }
    }
  };
  visit(id);
  return out;
}

function upstreamOf(graph: ModelGraph, id: string): Set<string> {
  const out = new Set<string>();
  const visit = (current: string) => {
    for (const up of graph.byId.get(current)?.upstream ?? []) {
      if (!out.has(up)) {
        out.add(up);
        visit(up);
      }
    }
  };
  visit(id);
  return out;
}

import { z } from 'zod';

// The one contract between the engine and every UI transport (Electron IPC, HTTP, in-process).
// This module imports nothing but zod, so the renderer bundle can use it without pulling in the engine.
// Each schema's type shares its name; inputs are strict (a misspelt option is an error, not ignored).

/** Error codes the UI may branch on; the same list as ErrorCode in errors.ts (a test checks both ways). */
export const ErrorCode = z.enum([
  'PROJECT_NOT_FOUND',
  'PROJECT_INVALID',
  'MODEL_INVALID',
  'MODEL_CYCLE',
  'MODEL_SQL_ERROR',
  'SOURCE_MISSING',
  'SOURCE_UNREADABLE',
  'SOURCE_SCHEMA_MISMATCH',
  'STORAGE_BUCKET_MISSING',
  'STORAGE_ACCESS_DENIED',
  'STORAGE_UNAVAILABLE',
  'TEST_FAILED',
  'ACCOUNTING_MISMATCH',
  'PUBLISH_CONFLICT',
  'PUBLISH_FAILED',
  'PUBLISH_MISMATCH',
  'ICEBERG_INVALID',
  'ICEBERG_COMMIT_CONFLICT',
  'ICEBERG_COMMIT_STATE_UNKNOWN',
  'RUN_CANCELLED',
  'RUN_LOCKED',
  'INVALID_ARGUMENT',
  'QUERY_ERROR',
  'QUERY_CANCELLED',
  'SERVER_UNREACHABLE',
  'INTERNAL',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

/** How every failure crosses a process boundary. */
export const ErrorPayload = z.object({
  code: ErrorCode,
  message: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type ErrorPayload = z.infer<typeof ErrorPayload>;

/** A transport's reply to one call: the method's output, or the error. */
export const RpcResponse = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), error: ErrorPayload }),
]);
export type RpcResponse = z.infer<typeof RpcResponse>;

function isCalendarDate(value: string): boolean {
  const [y, m, d] = value.split('-').map(Number) as [number, number, number];
  // setUTCFullYear, not Date.UTC: that one takes years 0-99 as 1900-1999 and so refused 0050-01-01.
  const date = new Date(0);
  date.setUTCFullYear(y, m - 1, d);
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** A calendar date as YYYY-MM-DD (the ETL date of a run). */
export const IsoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date as YYYY-MM-DD, e.g. 2022-06-01')
  .refine(isCalendarDate, 'not a calendar date');
export type IsoDate = z.infer<typeof IsoDate>;

/** A value as JSON carries it: query cells, failing-row samples. */
export const JsonValue = z.json();
export type JsonValue = z.infer<typeof JsonValue>;

export const JsonRow = z.record(z.string(), JsonValue);
export type JsonRow = z.infer<typeof JsonRow>;

export const Column = z.object({ name: z.string(), type: z.string() });
export type Column = z.infer<typeof Column>;

const NoInput = z.strictObject({});

/**
 * Text that reaches SQL, as a literal or as the query itself. DuckDB's parser ends a statement at a NUL
 * character, so one is refused here, naming the field, rather than failing inside as an INTERNAL error.
 */
function sqlText<T extends z.ZodString>(schema: T): T {
  return schema.refine(
    (text) => !text.includes('\u0000'),
    'holds a NUL character (\\u0000), which SQL text cannot carry; remove it',
  ) as T;
}

// ---------------------------------------------------------------------------------------------- project

export const Layer = z.enum(['bronze', 'silver', 'gold']);
export type Layer = z.infer<typeof Layer>;

export const Materialization = z.enum([
  'partition',
  'table',
  'append',
  'scd1',
  'scd2',
  'bridge',
  'keyword_match',
]);
export type Materialization = z.infer<typeof Materialization>;

/** A `relationships` test of a model: its column points at `to.field` (the star schema's FK edges). */
export const Relationship = z.object({ column: z.string(), to: z.string(), field: z.string() });
export type Relationship = z.infer<typeof Relationship>;

export const ModelInfo = z.object({
  /** `<layer>.<name>`, as SQL refers to it. */
  id: z.string(),
  layer: Layer,
  name: z.string(),
  /** Path of the model's SQL file, relative to the project root. */
  file: z.string(),
  materialized: Materialization,
  role: z.enum(['fact', 'dimension', 'bridge']).nullable(),
  description: z.string().nullable(),
  uniqueKey: z.array(z.string()),
  /** Model ids this model reads, inferred from its SQL. */
  upstream: z.array(z.string()),
  /** Source names (as declared in lakehouse.yaml) this model reads. */
  sources: z.array(z.string()),
  relationships: z.array(Relationship),
});
export type ModelInfo = z.infer<typeof ModelInfo>;

export const SourceInfo = z.object({
  name: z.string(),
  kind: z.enum(['daily_parquet', 'file', 'crawl']),
  /** Where it reads, as lakehouse.yaml says: a folder, file or s3:// URI, or a crawl's first page URL. */
  location: z.string().optional(),
});
export type SourceInfo = z.infer<typeof SourceInfo>;

/**
 * A model file the engine cannot run as it is (its header does not parse, its SQL does not bind, ...): out
 * of `models`, but the editor opens, fixes and saves it by `id` like any model.
 */
export const BrokenModel = z.object({
  /** `<layer>.<name>` from the file's place, as `models` would list it. */
  id: z.string(),
  layer: Layer,
  /** Path of the model's SQL file, relative to the project root. */
  file: z.string(),
  /** Why it is out of the graph: the file, often the line, and what to change. */
  error: ErrorPayload,
});
export type BrokenModel = z.infer<typeof BrokenModel>;

export const ProjectInfoInput = NoInput;
export type ProjectInfoInput = z.infer<typeof ProjectInfoInput>;

export const ProjectInfo = z.object({
  name: z.string(),
  root: z.string(),
  lakeRoot: z.string(),
  warehousePath: z.string(),
  sources: z.array(SourceInfo),
  /** In graph order: upstream first. */
  models: z.array(ModelInfo),
  /** Model files left out of `models` by an error of their own; a run refuses while there are any. */
  brokenModels: z.array(BrokenModel),
  /** Every date the daily sources have, sorted. */
  availableDates: z.array(IsoDate),
  /** Why availableDates is empty when a source cannot be listed (e.g. its folder moved); the graph still shows. */
  sourceError: ErrorPayload.nullable(),
  /** The run in progress, if any; pipeline.status has its progress, for a UI that opens or reconnects mid-run. */
  activeRunId: z.string().nullable(),
});
export type ProjectInfo = z.infer<typeof ProjectInfo>;

// --------------------------------------------------------------------------------------------- pipeline

/**
 * The most dates one call names (274 years of days): the HTTP server takes a body of 16 MiB, so a longer
 * list would be refused as too large a request rather than named as too many dates.
 */
const MAX_DATES_IN_A_CALL = 100_000;
const DatesToRun = z
  .array(IsoDate)
  .min(1)
  .max(MAX_DATES_IN_A_CALL, {
    message: `at most ${MAX_DATES_IN_A_CALL} dates in one call: give a from/to range`,
  });

/** Dates to run, or a from/to range; neither means every date the sources have. */
export const RunInput = z
  .strictObject({
    dates: DatesToRun.optional(),
    from: IsoDate.optional(),
    to: IsoDate.optional(),
    /** Model selectors: `m`, `m+` (and downstream), `+m` (and upstream). Default: every model. */
    select: z.array(z.string().min(1)).optional(),
  })
  .refine((r) => !(r.dates && (r.from || r.to)), {
    message: 'give either dates or a from/to range, not both',
    path: ['dates'],
  })
  .refine((r) => !(r.from && r.to && r.from > r.to), { message: 'from is after to', path: ['from'] });
export type RunInput = z.infer<typeof RunInput>;

/**
 * `pipeline.run` answers as soon as the run has started; progress and the summary follow as events, and
 * pipeline.status answers the progress so far to a view that missed them.
 */
export const RunStarted = z.object({
  runId: z.string(),
  /** Steps the run will take (one step = one model on one date). */
  total: z.number().int().nonnegative(),
});
export type RunStarted = z.infer<typeof RunStarted>;

export const CancelInput = z.strictObject({ runId: z.string().min(1) });
export type CancelInput = z.infer<typeof CancelInput>;

/** `cancelled` is false when no run with that id is in progress (it may have just finished). */
export const CancelResult = z.object({ runId: z.string(), cancelled: z.boolean() });
export type CancelResult = z.infer<typeof CancelResult>;

export const TestResult = z.object({
  /** e.g. `not_null(user_id)`, `relationships(user_id → gold.dim_user.user_id)`. */
  name: z.string(),
  severity: z.enum(['error', 'warn']),
  passed: z.boolean(),
  failingRows: z.number(),
  /** Up to five failing rows. */
  sample: z.array(JsonRow),
  /** Column → DuckDB type of the sample's columns (absent in runs recorded before it was kept). */
  sampleTypes: z.record(z.string(), z.string()).optional(),
  /** Which of a failing test's columns fail, e.g. `NULL in platform_key (1)` for not_null over several. */
  detail: z.string().optional(),
});
export type TestResult = z.infer<typeof TestResult>;

export const ModelStatus = z.enum(['success', 'failed', 'skipped', 'rolled_back']);
export type ModelStatus = z.infer<typeof ModelStatus>;

/** One model on one date of a run. */
export const ModelRunRecord = z.object({
  model: z.string(),
  etlDate: IsoDate,
  status: ModelStatus,
  rowsIn: z.number(),
  rowsOut: z.number(),
  duplicatesRemoved: z.number(),
  quarantined: z.number(),
  durationMs: z.number(),
  error: z.string().optional(),
  tests: z.array(TestResult),
  warnings: z.array(z.string()),
});
export type ModelRunRecord = z.infer<typeof ModelRunRecord>;

export const RunSummary = z.object({
  runId: z.string(),
  status: z.enum(['success', 'failed', 'cancelled']),
  dates: z.array(IsoDate),
  models: z.array(ModelRunRecord),
  durationMs: z.number(),
  error: ErrorPayload.optional(),
});
export type RunSummary = z.infer<typeof RunSummary>;

// ------------------------------------------------------------------------------------------ tables, runs

export const TablesInput = NoInput;
export type TablesInput = z.infer<typeof TablesInput>;

export const TableInfo = z.object({
  /** `layer.name` as queries use it. */
  name: z.string(),
  layer: z.string(),
  kind: z.enum(['table', 'view']),
  rows: z.number(),
  columns: z.array(Column),
  /**
   * File of the model that builds it; null for quarantine tables and for a table left behind by a
   * deleted model (lakehouse drop removes those).
   */
  model: z.string().nullable(),
  materialized: Materialization.nullable(),
  /** Committed date partitions (bronze and silver); null for warehouse tables. */
  partitions: z.number().nullable(),
});
export type TableInfo = z.infer<typeof TableInfo>;

export const TableList = z.object({ tables: z.array(TableInfo) });
export type TableList = z.infer<typeof TableList>;

/** Drops a table no model builds any more (its file was deleted or renamed), as `lakehouse drop` does. */
export const TableDropInput = z.strictObject({
  table: z.string().trim().min(1),
  /** A gold table its model builds, dropped so that the next run of every date builds it whole. */
  rebuild: z.boolean().default(false),
});
export type TableDropInput = z.infer<typeof TableDropInput>;
export const TableDropResult = z.object({
  relation: z.string(),
  kind: z.enum(['table', 'view']),
  rows: z.number(),
  /** Date partitions removed with it; 0 for a warehouse table. */
  partitions: z.number().int(),
});
export type TableDropResult = z.infer<typeof TableDropResult>;

export const RunsInput = z.strictObject({ limit: z.number().int().min(1).max(1000).default(20) });
export type RunsInput = z.infer<typeof RunsInput>;

export const RunHistoryModel = z.object({
  model: z.string(),
  etlDate: IsoDate.nullable(),
  status: z.string(),
  rowsIn: z.number(),
  rowsOut: z.number(),
  duplicatesRemoved: z.number(),
  quarantined: z.number(),
  durationMs: z.number(),
  error: z.string().nullable(),
  tests: z.array(TestResult),
  warnings: z.array(z.string()),
});
export type RunHistoryModel = z.infer<typeof RunHistoryModel>;

export const RunHistoryEntry = z.object({
  runId: z.string(),
  /** The machine's wall clock then, with its zone's UTC offset: `2022-06-02 20:40:36.178245+07:00`. */
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  /** running, success, failed, cancelled or abandoned (a process that died mid-run). */
  status: z.string(),
  /** Comma-separated dates. */
  dates: z.string(),
  selection: z.string(),
  error: z.string().nullable(),
  /** The error's code (TEST_FAILED, RUN_CANCELLED, ...); null without an error, or for a run an earlier version recorded. */
  errorCode: z.string().nullable(),
  models: z.array(RunHistoryModel),
});
export type RunHistoryEntry = z.infer<typeof RunHistoryEntry>;

/** Newest first. */
export const RunList = z.object({ runs: z.array(RunHistoryEntry) });
export type RunList = z.infer<typeof RunList>;

// ------------------------------------------------------------------------------------------------ query

/**
 * One read-only query (SELECT, WITH, FROM, VALUES, SHOW, DESCRIBE, SUMMARIZE) and the window of rows wanted.
 * Windows read in order (each at the offset where the last ended) come from one execution of the query;
 * any other offset runs it again. A run or a project change in between fails the next such window with
 * QUERY_ERROR, reason `result-released`.
 */
export const QueryInput = z.strictObject({
  sql: sqlText(z.string().trim().min(1, 'the query is empty').max(1_000_000)),
  limit: z.number().int().min(1).max(10_000).default(1000),
  offset: z.number().int().min(0).default(0),
  /** The caller's name for this query, so a query.cancel that arrives before it can still stop it. */
  queryId: z.string().min(1).max(100).optional(),
});
export type QueryInput = z.infer<typeof QueryInput>;

/**
 * Rows in DuckDB's JSON form: BIGINT as a number when exact (else a string), DECIMAL and HUGEINT beyond
 * 2^53 as strings, DATE/TIMESTAMP as wall-clock strings, lists as arrays, structs as objects.
 */
export const QueryResult = z.object({
  columns: z.array(Column),
  rows: z.array(JsonRow),
  offset: z.number().int(),
  limit: z.number().int(),
  /** True when rows exist after this window. */
  hasMore: z.boolean(),
  /**
   * Rows of the whole result: known when this window reaches the end; counted for the first window
   * (offset 0) when that takes under a second; otherwise null.
   */
  total: z.number().int().nonnegative().nullable(),
});
export type QueryResult = z.infer<typeof QueryResult>;

/**
 * Stops the SQL console's query.run calls: the running one is interrupted and those queued behind it do
 * not start; each fails with QUERY_CANCELLED. Other reads (tables, windows, exports) are not touched.
 */
export const QueryCancelInput = z.strictObject({
  /** The query.run to stop, also when that request has not reached the engine yet. */
  queryId: z.string().min(1).max(100).optional(),
});
export type QueryCancelInput = z.infer<typeof QueryCancelInput>;

/** `cancelled` is false when no console query was running or queued (it may have just finished). */
export const QueryCancelResult = z.object({ cancelled: z.boolean() });
export type QueryCancelResult = z.infer<typeof QueryCancelResult>;

// ----------------------------------------------------------------------------------------------- events

export const ProgressKind = z.enum(['run-start', 'model-start', 'model-done', 'date-committed', 'run-done']);
export type ProgressKind = z.infer<typeof ProgressKind>;

/** Progress of a run: run-start, then model-start/model-done per model and date-committed per date, run-done. */
export const RunProgressEvent = z.object({
  type: z.literal('run.progress'),
  runId: z.string(),
  kind: ProgressKind,
  date: IsoDate.optional(),
  model: z.string().optional(),
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  record: ModelRunRecord.optional(),
});
export type RunProgressEvent = z.infer<typeof RunProgressEvent>;

/** The last event of every run that started, whatever its outcome. */
export const RunFinishedEvent = z.object({
  type: z.literal('run.finished'),
  runId: z.string(),
  summary: RunSummary,
});
export type RunFinishedEvent = z.infer<typeof RunFinishedEvent>;

/** Progress of publish.iceberg.run or publish.redshift.run: a step of `total` done (tables or statements). */
export const PublishProgressEvent = z.object({
  type: z.literal('publish.progress'),
  target: z.enum(['iceberg', 'redshift']),
  table: z.string().optional(),
  message: z.string(),
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
});
export type PublishProgressEvent = z.infer<typeof PublishProgressEvent>;

/** Everything the engine pushes to the UI. Events may arrive before the reply of the call that caused them. */
export const LakehouseEvent = z.discriminatedUnion('type', [
  RunProgressEvent,
  RunFinishedEvent,
  PublishProgressEvent,
]);
export type LakehouseEvent = z.infer<typeof LakehouseEvent>;

/** The run in progress (pipeline.status), so a view that opens mid-run shows it as one that watched it. */
export const PipelineStatusInput = NoInput;
export type PipelineStatusInput = z.infer<typeof PipelineStatusInput>;

/** One model on one date of the run in progress: `record` is null while it runs, then what it did. */
export const RunStep = z.object({
  model: z.string(),
  date: IsoDate,
  record: ModelRunRecord.nullable(),
});
export type RunStep = z.infer<typeof RunStep>;

export const ActiveRunState = z.object({
  /** Null while the run is starting (resolving its selection and dates): run-start then brings the id. */
  runId: z.string().nullable(),
  /** When pipeline.run (or model.apply) started it, as an ISO timestamp. */
  startedAt: z.string(),
  /** What it was asked to run: dates or a from/to range (neither: every date), and the selection. */
  request: z.object({
    dates: z.array(IsoDate).optional(),
    from: IsoDate.optional(),
    to: IsoDate.optional(),
    select: z.array(z.string()).optional(),
  }),
  /** The dates it runs, in order; empty while it is starting. */
  dates: z.array(IsoDate),
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  /** The last run.progress event sent for it (null while starting). */
  latest: RunProgressEvent.nullable(),
  /** Every model started so far, on each date, in the order they started. */
  steps: z.array(RunStep),
  committedDates: z.array(IsoDate),
  /** pipeline.cancel was called for it: it ends as cancelled once the engine has stopped. */
  cancelRequested: z.boolean(),
});
export type ActiveRunState = z.infer<typeof ActiveRunState>;

/** `run` is null when no run is in progress. */
export const PipelineStatus = z.object({ run: ActiveRunState.nullable() });
export type PipelineStatus = z.infer<typeof PipelineStatus>;

// ---------------------------------------------------------------------------------------------- explore

export const PipelineGraphInput = NoInput;
export type PipelineGraphInput = z.infer<typeof PipelineGraphInput>;

/**
 * A note of a model's latest run: `etlDate` is the (first) date that gave it; `dates`, when several
 * dates gave the same note, lists them (the text then leaves the date out).
 */
export const GraphNote = z.object({
  etlDate: IsoDate.nullable(),
  text: z.string(),
  dates: z.array(IsoDate).optional(),
});
export type GraphNote = z.infer<typeof GraphNote>;

/**
 * One date of a model's latest run with its row accounting: rows read (with reconcile_with, the rows of
 * that upstream's partition) = rows written + duplicates removed + quarantined, unless the date failed.
 */
export const DateAccounting = z.object({
  etlDate: IsoDate,
  status: z.string(),
  rowsIn: z.number(),
  rowsOut: z.number(),
  duplicatesRemoved: z.number(),
  quarantined: z.number(),
});
export type DateAccounting = z.infer<typeof DateAccounting>;

/** A model's state in its latest run: totals over the dates that run took, the worst status of them. */
export const GraphNodeState = z.object({
  model: z.string(),
  runId: z.string(),
  status: z.string(),
  /** The dates its latest run committed (not one it failed on or rolled back). */
  dates: z.array(IsoDate),
  /** Rows read and written over those dates. */
  rowsIn: z.number(),
  rowsOut: z.number(),
  /** Rows its table or partitions hold now (null when never committed). */
  tableRows: z.number().nullable(),
  durationMs: z.number(),
  /** Distinct tests by their worst outcome over the run's dates. */
  testsPassed: z.number().int(),
  testsFailed: z.number().int(),
  testsWarned: z.number().int(),
  /** Failed or warned tests, with their failing-row samples. */
  failedTests: z.array(TestResult),
  error: z.string().nullable(),
  /**
   * What the run noted for the model, per date (the CLI prints these as `note:` lines): rows quarantined
   * by rule, columns older dates lack, downstream models a selection left out, and the like.
   */
  notes: z.array(GraphNote),
  /** The partition model whose rows it accounts for on each date (its reconcile_with), or null. */
  reconcileWith: z.string().nullable(),
  /** Each date of its latest run, with its rows read, written, duplicates removed and quarantined. */
  perDate: z.array(DateAccounting),
  /**
   * A later run that stopped before reaching the model (an upstream model failed, or a cancel): it kept
   * what the state above shows, from an earlier run. The engine records such a model as skipped with a
   * reason starting `not run:`, which `reason` is; null when the latest run ran it.
   */
  notRun: z.object({ runId: z.string(), reason: z.string() }).nullable(),
});
export type GraphNodeState = z.infer<typeof GraphNodeState>;

/**
 * Rows that flowed along an edge: what `to` read from `from` in its latest run, i.e. the partitions of
 * its dates for a partitioned `from` (and of every date a history model's replay applied again), the
 * whole table otherwise (null while either end never ran).
 */
export const GraphEdge = z.object({ from: z.string(), to: z.string(), rows: z.number().nullable() });
export type GraphEdge = z.infer<typeof GraphEdge>;

export const PipelineGraph = z.object({ nodes: z.array(GraphNodeState), edges: z.array(GraphEdge) });
export type PipelineGraph = z.infer<typeof PipelineGraph>;

export const StarSchemaInput = NoInput;
export type StarSchemaInput = z.infer<typeof StarSchemaInput>;

export const StarTable = z.object({
  id: z.string(),
  role: z.enum(['fact', 'dimension', 'bridge']),
  materialized: Materialization,
  /** Null when the table has not been built yet. */
  rows: z.number().nullable(),
  /** The key other tables point at (surrogate key, else the unique key). */
  key: z.array(z.string()),
});
export type StarTable = z.infer<typeof StarTable>;

/** One PK/FK edge, with the rows of `from` that point at no member (`missing`) or at the unknown member (key 0). */
export const StarEdge = z.object({
  from: z.string(),
  column: z.string(),
  to: z.string(),
  field: z.string(),
  rows: z.number(),
  missing: z.number(),
  unknown: z.number(),
  /** False when either table is not built yet (counts are then 0). */
  checked: z.boolean(),
});
export type StarEdge = z.infer<typeof StarEdge>;

export const StarSchema = z.object({ tables: z.array(StarTable), edges: z.array(StarEdge) });
export type StarSchema = z.infer<typeof StarSchema>;

export const OrphanKind = z.enum(['missing', 'unknown', 'all']);
export type OrphanKind = z.infer<typeof OrphanKind>;

export const StarOrphansInput = z.strictObject({
  from: z.string().min(1),
  column: z.string().min(1),
  to: z.string().min(1),
  kind: OrphanKind.default('all'),
  limit: z.number().int().min(1).max(10_000).default(200),
});
export type StarOrphansInput = z.infer<typeof StarOrphansInput>;

export const StarOrphans = z.object({
  columns: z.array(Column),
  rows: z.array(JsonRow),
  /** Every orphan row of the kind, beyond the `limit` listed. */
  total: z.number(),
});
export type StarOrphans = z.infer<typeof StarOrphans>;

export const HistoryKeysInput = z.strictObject({
  model: z.string().min(1),
  search: z.string().max(200).default(''),
  limit: z.number().int().min(1).max(500).default(20),
});
export type HistoryKeysInput = z.infer<typeof HistoryKeysInput>;

/**
 * Business keys of a history model with the most history first, as the history view shows it. SCD2:
 * versions (rows) of the key. Bridge: versions of the key's set of members, one per date the set changed
 * (a member joining, leaving or coming back), so a key holding many members that never changed has one.
 * SCD1: column changes the runs recorded (its first insert is no change); keys without any are left out.
 */
export const HistoryKeys = z.object({
  /** The business key's columns; a key of several is their values joined with `|` (`key` below, history.key). */
  keyColumns: z.array(z.string()),
  /** What `count` counts. */
  unit: z.enum(['versions', 'changes']),
  keys: z.array(z.object({ key: z.string(), count: z.number() })),
  /** SCD1 only: columns merged as running extremes (least, greatest) or kept, whose changes are not logged. */
  notLogged: z
    .array(z.object({ column: z.string(), rule: z.enum(['least', 'greatest', 'keep']) }))
    .optional(),
});
export type HistoryKeys = z.infer<typeof HistoryKeys>;

export const HistoryInput = z.strictObject({
  model: z.string().min(1),
  // '' is a member's key too (a dimension keyed on text may hold an empty one): the picker lists it.
  key: sqlText(z.string().max(1000)),
});
export type HistoryInput = z.infer<typeof HistoryInput>;

/** One row of a key's history. `validTo` is exclusive; null means still open. */
export const HistoryVersion = z.object({
  validFrom: IsoDate.nullable(),
  validTo: IsoDate.nullable(),
  current: z.boolean(),
  row: JsonRow,
  /** Columns whose value differs from the previous version of the same lane. */
  changed: z.array(z.string()),
});
export type HistoryVersion = z.infer<typeof HistoryVersion>;

/** One timeline row: the versions of one key (SCD2) or of one key-member pair (bridge). */
export const HistoryLane = z.object({ label: z.string(), versions: z.array(HistoryVersion) });
export type HistoryLane = z.infer<typeof HistoryLane>;

export const InvariantBreak = z.object({
  kind: z.enum(['overlap', 'gap', 'several-current', 'open-but-closed']),
  lane: z.string(),
  message: z.string(),
});
export type InvariantBreak = z.infer<typeof InvariantBreak>;

/** An SCD1 change a run made to the key's row (needs the change log the scd1 materialization keeps). */
export const Scd1Change = z.object({
  runId: z.string(),
  etlDate: IsoDate,
  kind: z.enum(['insert', 'update']),
  column: z.string().nullable(),
  before: JsonValue,
  after: JsonValue,
});
export type Scd1Change = z.infer<typeof Scd1Change>;

export const KeyHistory = z.object({
  model: z.string(),
  kind: z.enum(['scd2', 'bridge', 'scd1']),
  keyColumns: z.array(z.string()),
  /** A bridge's member column (one lane per member: each may have one effective row); else null. */
  memberColumn: z.string().nullable(),
  columns: z.array(Column),
  lanes: z.array(HistoryLane),
  breaks: z.array(InvariantBreak),
  changes: z.array(Scd1Change),
  /** The latest date the model has committed: a timeline runs to the day after it, for every key. */
  latestDate: IsoDate.nullable().optional(),
});
export type KeyHistory = z.infer<typeof KeyHistory>;

export const ModelSourceInput = z.strictObject({ model: z.string().min(1) });
export type ModelSourceInput = z.infer<typeof ModelSourceInput>;

export const ModelSource = z.object({
  model: z.string(),
  file: z.string(),
  /** The whole file: config header and SQL. */
  text: z.string(),
  /** 1-based line of the file where the SQL starts. */
  sqlStartLine: z.number().int(),
  /**
   * When the model's latest run ran the file as it is now and failed (or was killed), and an earlier run
   * succeeded with other text: that text (the last version that ran), its run, and the failed run with
   * its error. Kept in the warehouse, so the editor offers it back after a reload or a restart too.
   */
  restorable: z
    .object({
      text: z.string(),
      runId: z.string(),
      failedRunId: z.string(),
      error: z.string().nullable(),
    })
    .nullable()
    .optional(),
});
export type ModelSource = z.infer<typeof ModelSource>;

/** Runs an edited model's SELECT for one date on current data, writing nothing. */
export const ModelPreviewInput = z.strictObject({
  model: z.string().min(1),
  text: sqlText(z.string().min(1).max(1_000_000)),
  /** Default: the latest date the sources have. */
  date: IsoDate.optional(),
  limit: z.number().int().min(1).max(1000).default(100),
});
export type ModelPreviewInput = z.infer<typeof ModelPreviewInput>;

/**
 * Stops the editor's model.preview calls: the running one is interrupted and those queued behind it do
 * not start; each fails with QUERY_CANCELLED. Previews run on a connection of their own, so a slow one
 * holds up no other read meanwhile.
 */
export const ModelPreviewCancelInput = z.strictObject({});
export type ModelPreviewCancelInput = z.infer<typeof ModelPreviewCancelInput>;

export const ModelPreview = z.object({
  date: IsoDate,
  columns: z.array(Column),
  rows: z.array(JsonRow),
  hasMore: z.boolean(),
  durationMs: z.number(),
});
export type ModelPreview = z.infer<typeof ModelPreview>;

/** Saves the model file, snapshots the gold tables it affects, and runs it and everything downstream. */
export const ModelApplyInput = z.strictObject({
  model: z.string().min(1),
  text: sqlText(z.string().min(1).max(1_000_000)),
  /**
   * The file's text the edit started from (model.source's `text`): when the file holds something else
   * now (saved from another window, edited on disk), the save is refused instead of overwriting it.
   */
  base: z.string().max(1_000_000).optional(),
  /** Default: every date the sources have. */
  dates: DatesToRun.optional(),
});
export type ModelApplyInput = z.infer<typeof ModelApplyInput>;

export const ModelApplyStarted = z.object({
  runId: z.string(),
  total: z.number().int().nonnegative(),
  /** Gold tables whose before/after the diff compares. */
  tables: z.array(z.string()),
});
export type ModelApplyStarted = z.infer<typeof ModelApplyStarted>;

export const ModelDiffInput = z.strictObject({ runId: z.string().min(1) });
export type ModelDiffInput = z.infer<typeof ModelDiffInput>;

export const ChangedRow = z.object({
  key: JsonRow,
  before: JsonRow,
  after: JsonRow,
  columns: z.array(z.string()),
});
export type ChangedRow = z.infer<typeof ChangedRow>;

/** What a run changed in one gold table, by key (whole rows when the table has no key). */
export const TableDiff = z.object({
  table: z.string(),
  key: z.array(z.string()),
  rowsBefore: z.number(),
  rowsAfter: z.number(),
  added: z.number(),
  removed: z.number(),
  changed: z.number(),
  /** Per column, how many rows changed it (of the columns both sides have). */
  changedColumns: z.record(z.string(), z.number()),
  /** Columns the table gained or lost in the run: their values are in no count above. */
  addedColumns: z.array(z.string()),
  removedColumns: z.array(z.string()),
  /** Columns both sides have whose type the run changed: their values count as changed only if they differ. */
  retypedColumns: z.record(z.string(), z.object({ before: z.string(), after: z.string() })).optional(),
  /** Each column's DuckDB type (the table's after the run, else before), so examples read as the grid's cells. */
  columnTypes: z.record(z.string(), z.string()).optional(),
  addedExamples: z.array(JsonRow),
  removedExamples: z.array(JsonRow),
  changedExamples: z.array(ChangedRow),
});
export type TableDiff = z.infer<typeof TableDiff>;

/** Answers once the run has finished. */
export const ModelDiff = z.object({
  runId: z.string(),
  status: z.enum(['success', 'failed', 'cancelled']),
  tables: z.array(TableDiff),
});
export type ModelDiff = z.infer<typeof ModelDiff>;

// --------------------------------------------------------------------------------------- table explorer

/** One sort key of a grid; the engine adds a tiebreak so windows of one order never overlap. */
export const SortKey = z.strictObject({ column: z.string().min(1), direction: z.enum(['asc', 'desc']) });
export type SortKey = z.infer<typeof SortKey>;

export const FilterOp = z.enum([
  'eq',
  'ne',
  'lt',
  'le',
  'gt',
  'ge',
  'contains',
  'starts_with',
  'is_null',
  'not_null',
]);
export type FilterOp = z.infer<typeof FilterOp>;

/** A typed filter on one column: `value` is cast to the column's type by the engine (an error if it cannot be). */
export const ColumnFilter = z
  .strictObject({
    column: z.string().min(1),
    op: FilterOp,
    value: z.union([sqlText(z.string()), z.number(), z.boolean()]).optional(),
  })
  .refine((f) => f.op === 'is_null' || f.op === 'not_null' || f.value !== undefined, {
    message: 'this filter needs a value',
    path: ['value'],
  });
export type ColumnFilter = z.infer<typeof ColumnFilter>;

/** Binary data (an Arrow IPC stream, an exported file): a Uint8Array over IPC, a binary body over HTTP. */
export const Bytes = z.custom<Uint8Array>(
  (v) => v instanceof Uint8Array,
  'expected binary data (a Uint8Array)',
);
export type Bytes = z.infer<typeof Bytes>;

/** A window of rows of any table of any layer (`layer.name`), sorted and filtered by the engine. */
export const TableWindowInput = z.strictObject({
  table: z.string().min(1),
  offset: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(5000).default(200),
  sort: z.array(SortKey).max(4).default([]),
  filters: z.array(ColumnFilter).max(20).default([]),
});
export type TableWindowInput = z.infer<typeof TableWindowInput>;

/**
 * `arrow` is an Arrow IPC stream of the window, one column per table column in order: integers up to 32
 * bits as Int32, BIGINT as Int64, floats as Float64, BOOLEAN as Bool, everything else as text.
 */
export const TableWindow = z.object({
  table: z.string(),
  columns: z.array(Column),
  /** Rows that pass the filters (the grid's height). */
  totalRows: z.number().int(),
  offset: z.number().int(),
  rowCount: z.number().int(),
  arrow: Bytes,
});
export type TableWindow = z.infer<typeof TableWindow>;

export const TableProfileInput = z.strictObject({
  table: z.string().min(1),
  column: z.string().min(1),
  filters: z.array(ColumnFilter).max(20).default([]),
  /** The caller's name for this profile, so table.profile.cancel can stop it (also before it arrives). */
  profileId: z.string().min(1).max(100).optional(),
});
export type TableProfileInput = z.infer<typeof TableProfileInput>;

/**
 * Stops one table.profile call (named by its profileId) that the user has moved on from: queued, it does
 * not start; running, it is interrupted; either way it fails with QUERY_CANCELLED. Profiles share the
 * explorer's connection with the grid's windows, so one left running would hold them up.
 */
export const TableProfileCancelInput = z.strictObject({ profileId: z.string().min(1).max(100) });
export type TableProfileCancelInput = z.infer<typeof TableProfileCancelInput>;

/** One column's profile over the rows that pass the filters; numbers and dates get a histogram, others top values. */
export const ColumnProfile = z.object({
  table: z.string(),
  column: z.string(),
  type: z.string(),
  rows: z.number().int(),
  nulls: z.number().int(),
  nullPercent: z.number(),
  distinct: z.number().int(),
  /** True when `distinct` is a HyperLogLog estimate, about 1.6% standard error (numbers and dates of large tables). */
  distinctApprox: z.boolean(),
  min: z.string().nullable(),
  max: z.string().nullable(),
  /** Equal-width bins in order; outliers, when there are any, in a first `below` and a last `above` bin. */
  histogram: z
    .array(
      z.object({
        low: z.string(),
        high: z.string(),
        count: z.number().int(),
        overflow: z.enum(['below', 'above']).optional(),
      }),
    )
    .nullable(),
  topValues: z.array(z.object({ value: z.string().nullable(), count: z.number().int() })).nullable(),
  durationMs: z.number(),
});
export type ColumnProfile = z.infer<typeof ColumnProfile>;

/**
 * The whole result of one read-only query as CSV (header, RFC 4180 quoting) or Parquet, sent back in
 * `content` (a download). There is no path to write to: the API must not let a caller write files.
 */
export const QueryExportInput = z.strictObject({
  sql: sqlText(z.string().trim().min(1, 'the query is empty').max(1_000_000)),
  format: z.enum(['csv', 'parquet']),
});
export type QueryExportInput = z.infer<typeof QueryExportInput>;

/**
 * The rows the table explorer shows, all of them (not only the window on screen): the table through its
 * filters, in its sort order, as CSV or Parquet; the same download as query.export's, named after the table.
 */
export const TableExportInput = z.strictObject({
  table: z.string().min(1),
  sort: z.array(SortKey).max(4).default([]),
  filters: z.array(ColumnFilter).max(20).default([]),
  format: z.enum(['csv', 'parquet']),
});
export type TableExportInput = z.infer<typeof TableExportInput>;

export const QueryExport = z.object({
  format: z.enum(['csv', 'parquet']),
  rows: z.number().int(),
  bytes: z.number().int(),
  /** A name for the download, e.g. query-20220601-083000.csv. */
  fileName: z.string(),
  content: Bytes,
});
export type QueryExport = z.infer<typeof QueryExport>;

// ---------------------------------------------------------------------------------------------- sources

/**
 * "Test connection" for a source: a configured one by name, or an unsaved definition (the shape of a
 * lakehouse.yaml source, checked by the engine) with optional S3 settings (profile, endpoint, region).
 */
/** The project's S3 settings a sources form may set: never keys, only where the AWS chain looks. */
const SourceS3Settings = z.strictObject({
  profile: z.string().optional(),
  endpoint: z.string().optional(),
  region: z.string().optional(),
});

export const SourceTestInput = z.strictObject({
  name: z.string().optional(),
  source: z.record(z.string(), z.unknown()).optional(),
  s3: SourceS3Settings.extend({ force_path_style: z.boolean().optional() }).optional(),
});
export type SourceTestInput = z.infer<typeof SourceTestInput>;

/** What the test found: dates, objects and bytes (or the first page of a crawl), or a clear error. */
export const SourceTestResult = z.object({
  ok: z.boolean(),
  kind: z.enum(['daily_parquet', 'file', 'crawl']),
  location: z.string(),
  summary: z.string(),
  dates: z.array(z.string()),
  objects: z.number().int(),
  bytes: z.number(),
  sample: z.array(z.string()),
  /** A daily source's columns on its latest day as models read them (`name TYPE`). */
  columns: z.array(z.string()),
  error: ErrorPayload.nullable(),
});
export type SourceTestResult = z.infer<typeof SourceTestResult>;

/** A source's definition as lakehouse.yaml has it (defaults applied), to fill an edit form. */
export const SourceGetInput = z.strictObject({ name: z.string() });
export type SourceGetInput = z.infer<typeof SourceGetInput>;
export const SourceDefinition = z.object({ name: z.string(), source: z.record(z.string(), z.unknown()) });
export type SourceDefinition = z.infer<typeof SourceDefinition>;

/**
 * Adds (or with replace, edits) a source in lakehouse.yaml. The engine validates it like the file
 * itself, refuses credentials (an AWS profile name is fine), and refuses while a run is in progress.
 * `s3` goes to the project's top-level s3 block, which the lake shares.
 */
export const SourceSaveInput = z.strictObject({
  name: z.string(),
  source: z.record(z.string(), z.unknown()),
  replace: z.boolean().default(false),
  s3: SourceS3Settings.optional(),
});
export type SourceSaveInput = z.infer<typeof SourceSaveInput>;

export const SourceSaveResult = z.object({
  name: z.string(),
  replaced: z.boolean(),
  /** The S3 settings changed: they apply once the project is reopened (the sources apply at once). */
  reopenRequired: z.boolean(),
  /** On an edit: the models reading the source, which its next run reads as saved. */
  readers: z.array(z.string()),
  /** On an edit of a daily source: the declared columns it no longer declares, which its readers lose. */
  droppedColumns: z.array(z.string()),
  sources: z.array(SourceInfo),
});
export type SourceSaveResult = z.infer<typeof SourceSaveResult>;

/** Removes a source from lakehouse.yaml; refused while a model reads it or a run is in progress. */
export const SourceRemoveInput = z.strictObject({ name: z.string() });
export type SourceRemoveInput = z.infer<typeof SourceRemoveInput>;
export const SourceRemoveResult = z.object({ name: z.string(), sources: z.array(SourceInfo) });
export type SourceRemoveResult = z.infer<typeof SourceRemoveResult>;

// ------------------------------------------------------------------------------------- publish: iceberg

/** Where to publish: a catalog named under publish.iceberg in lakehouse.yaml, or a warehouse folder / s3:// prefix. */
const IcebergTargetFields = {
  catalog: z.string().min(1).optional(),
  warehouse: z.string().min(1).optional(),
};
const SnapshotId = z.string().regex(/^-?\d+$/, 'expected a snapshot id (digits)');

/**
 * An Iceberg table (a gold table's name) or namespace: it becomes a folder of the warehouse or part of
 * a catalog URL, so a name like `../../etc` must never reach either.
 */
export const IcebergName = z
  .string()
  .regex(
    /^[A-Za-z0-9_]+$/,
    'expected an Iceberg table or namespace name of letters, digits and _ only, e.g. dim_user',
  );

export const IcebergPublishInput = z.strictObject({
  ...IcebergTargetFields,
  /** Gold table names (checked against the gold models before any is used); default every gold table. */
  tables: z.array(z.string().min(1)).optional(),
});
export type IcebergPublishInput = z.infer<typeof IcebergPublishInput>;

/** What publishing one table does: the type mapping, where it goes, and the change (preflight). */
export const IcebergTablePlan = z.object({
  table: z.string(),
  namespace: z.string(),
  location: z.string(),
  mode: z.enum(['partitions', 'upsert', 'overwrite']),
  action: z.enum(['create', 'append', 'overwrite', 'upsert', 'none']),
  operation: z.enum(['append', 'replace', 'overwrite', 'delete']).nullable(),
  rowsAdded: z.number().int(),
  rowsRemoved: z.number().int(),
  filesRemoved: z.number().int(),
  columns: z.array(
    z.object({
      name: z.string(),
      duckdbType: z.string(),
      icebergType: z.string(),
      fieldId: z.number().int(),
    }),
  ),
  schemaChange: z
    .object({
      added: z.array(z.string()),
      widened: z.array(z.object({ column: z.string(), from: z.string(), to: z.string() })),
      dropped: z.array(z.string()),
    })
    .nullable(),
  partitionedBy: z.string().nullable(),
});
export type IcebergTablePlan = z.infer<typeof IcebergTablePlan>;

export const IcebergPreflight = z.object({
  target: z.string(),
  namespace: z.string(),
  tables: z.array(IcebergTablePlan),
});
export type IcebergPreflight = z.infer<typeof IcebergPreflight>;

export const IcebergPublishResult = z.object({
  target: z.string(),
  namespace: z.string(),
  durationMs: z.number(),
  tables: z.array(
    IcebergTablePlan.extend({
      snapshotId: z.string().nullable(),
      filesAdded: z.number().int(),
      bytesAdded: z.number().int(),
      attempts: z.number().int(),
      metadataLocation: z.string().nullable(),
      /** Row count and key checksum read back from the published files against the local gold table. */
      reconciliation: z.object({
        localRows: z.number().int(),
        publishedRows: z.number().int(),
        localKeyChecksum: z.string(),
        publishedKeyChecksum: z.string(),
        matches: z.boolean(),
      }),
    }),
  ),
});
export type IcebergPublishResult = z.infer<typeof IcebergPublishResult>;

/**
 * Orphan files of published tables: files under a table's data/ and metadata/ that no snapshot
 * references (what a publish killed before its commit leaves), older than a threshold so that a
 * publish still writing keeps its own. A dry run (the default) lists them and deletes nothing.
 */
export const IcebergOrphansInput = z.strictObject({
  ...IcebergTargetFields,
  /** Gold table names; default every gold table. */
  tables: z.array(IcebergName).optional(),
  dryRun: z.boolean().default(true),
  /** Files modified this recently are kept; default 72 hours (Iceberg's own default). */
  olderThanHours: z.number().positive().optional(),
});
export type IcebergOrphansInput = z.infer<typeof IcebergOrphansInput>;

const OrphanFile = z.object({ uri: z.string(), size: z.number(), modifiedMs: z.number() });
export const IcebergOrphans = z.object({
  target: z.string(),
  namespace: z.string(),
  dryRun: z.boolean(),
  minAgeMs: z.number(),
  /** Files modified before this instant (ISO) are removable. */
  olderThan: z.string(),
  tables: z.array(
    z.object({
      table: z.string(),
      location: z.string().nullable(),
      /** Why the table was left alone (not in the catalog, metadata naming another folder), or null. */
      skipped: z.string().nullable(),
      referenced: z.number().int(),
      removed: z.array(OrphanFile),
      kept: z.array(OrphanFile),
    }),
  ),
});
export type IcebergOrphans = z.infer<typeof IcebergOrphans>;

export const IcebergSnapshotsInput = z.strictObject({ ...IcebergTargetFields, table: IcebergName });
export type IcebergSnapshotsInput = z.infer<typeof IcebergSnapshotsInput>;

/** A published table's snapshots, newest first. Ids are strings: they exceed 2^53. */
export const IcebergSnapshots = z.object({
  table: z.string(),
  location: z.string(),
  metadataLocation: z.string(),
  currentSnapshotId: z.string().nullable(),
  snapshots: z.array(
    z.object({
      snapshotId: z.string(),
      parentId: z.string().nullable(),
      sequenceNumber: z.number().int(),
      timestampMs: z.number(),
      operation: z.string(),
      action: z.string().nullable(),
      rowsAdded: z.number().int(),
      rowsRemoved: z.number().int(),
      totalRows: z.number().int(),
      filesAdded: z.number().int(),
      filesRemoved: z.number().int(),
      schemaId: z.number().int(),
    }),
  ),
});
export type IcebergSnapshots = z.infer<typeof IcebergSnapshots>;

/** The table as of a snapshot (default the current one): a window of rows like query.run. */
export const IcebergScanInput = z.strictObject({
  ...IcebergTargetFields,
  table: IcebergName,
  snapshotId: SnapshotId.optional(),
  offset: z.number().int().min(0).default(0),
  limit: z.number().int().min(1).max(5000).default(200),
});
export type IcebergScanInput = z.infer<typeof IcebergScanInput>;

export const IcebergScan = QueryResult.extend({
  table: z.string(),
  snapshotId: z.string(),
  totalRows: z.number().int(),
});
export type IcebergScan = z.infer<typeof IcebergScan>;

export const IcebergDiffInput = z.strictObject({
  ...IcebergTargetFields,
  table: IcebergName,
  from: SnapshotId,
  to: SnapshotId,
  /** Example rows per side. */
  limit: z.number().int().min(0).max(1000).default(20),
});
export type IcebergDiffInput = z.infer<typeof IcebergDiffInput>;

export const IcebergDiff = z.object({
  table: z.string(),
  from: z.string(),
  to: z.string(),
  columns: z.array(Column),
  rowsAdded: z.number().int(),
  rowsRemoved: z.number().int(),
  added: z.array(JsonRow),
  removed: z.array(JsonRow),
});
export type IcebergDiff = z.infer<typeof IcebergDiff>;

// ------------------------------------------------------------------------------------ publish: redshift

/**
 * A Redshift or PostgreSQL schema the gold tables go to. It is written into the statements sent there
 * (quoted, and as a string literal in catalog queries), so only an unquoted identifier's characters pass.
 */
export const TargetSchemaName = z
  .string()
  .max(63, 'a schema name has at most 63 characters (PostgreSQL cuts longer ones)')
  .regex(
    /^[A-Za-z_][A-Za-z0-9_$]*$/,
    'expected a schema name: a letter or _, then letters, digits, _ or $, e.g. gold',
  );

/**
 * A target named under publish.redshift in lakehouse.yaml, or a postgres:// URL (password: PGPASSWORD) on
 * this computer only (localhost, 127.0.0.0/8, ::1): another host is refused, so the password stays home.
 */
export const RedshiftPublishInput = z
  .strictObject({
    target: z.string().min(1).optional(),
    url: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected postgres://user@host:port/database')
      .optional(),
    /** Target schema; default the target's (gold). */
    schema: TargetSchemaName.optional(),
    /** Gold tables to publish; default all. */
    tables: z.array(z.string().min(1)).min(1).optional(),
  })
  .refine((i) => Boolean(i.target) !== Boolean(i.url), {
    message: 'give exactly one of target or url',
    path: ['target'],
  });
export type RedshiftPublishInput = z.infer<typeof RedshiftPublishInput>;

export const RedshiftTablePlan = z.object({
  table: z.string(),
  materialized: z.string(),
  /** create (new table), swap (table), merge (scd1), append (facts, by date), mirror (scd2, bridge). */
  action: z.enum(['create', 'swap', 'merge', 'append', 'mirror']),
  rows: z.number().int(),
  rowsToSend: z.number().int(),
  sentDates: z.array(z.string()).nullable(),
  keyChecksum: z.string(),
  addedColumns: z.array(z.string()),
  widenedColumns: z.array(z.object({ column: z.string(), from: z.string(), to: z.string() })),
  distribution: z.object({
    style: z.enum(['ALL', 'KEY', 'AUTO']),
    distKey: z.string().optional(),
    sortKey: z.array(z.string()),
  }),
});
export type RedshiftTablePlan = z.infer<typeof RedshiftTablePlan>;

export const RedshiftPreflight = z.object({
  /** user@host:port/db or the Data API workgroup/cluster (never a password). */
  target: z.string(),
  schema: z.string(),
  dialect: z.enum(['redshift', 'postgres']),
  loadPath: z.enum(['copy-stdin', 's3-parquet']),
  tables: z.array(RedshiftTablePlan),
  ddl: z.array(z.string()),
  statements: z.array(z.string()),
  /** Incompatible differences with the target's tables; a publish refuses to run while there are any. */
  conflicts: z.array(z.object({ table: z.string(), column: z.string().optional(), message: z.string() })),
  warnings: z.array(z.string()),
});
export type RedshiftPreflight = z.infer<typeof RedshiftPreflight>;

export const RedshiftReconciliation = z.object({
  table: z.string(),
  localRows: z.number().int(),
  targetRows: z.number().int(),
  localChecksum: z.string(),
  targetChecksum: z.string(),
  matches: z.boolean(),
});
export type RedshiftReconciliation = z.infer<typeof RedshiftReconciliation>;

export const RedshiftPublishResult = RedshiftPreflight.extend({
  reconciliation: z.array(RedshiftReconciliation),
  durationMs: z.number(),
});
export type RedshiftPublishResult = z.infer<typeof RedshiftPublishResult>;

/**
 * Cancels the publishes in progress or queued (Iceberg or Redshift); `cancelled` is false when there
 * were none. Each then fails with RUN_CANCELLED, saying what it had committed.
 */
export const PublishCancelInput = z.strictObject({});
export type PublishCancelInput = z.infer<typeof PublishCancelInput>;
export const PublishCancelResult = z.object({ cancelled: z.boolean() });
export type PublishCancelResult = z.infer<typeof PublishCancelResult>;

// ---------------------------------------------------------------------------------------------- methods

/** Every method a transport may call, with its input and output schemas. */
export const methods = {
  'project.info': { input: ProjectInfoInput, output: ProjectInfo },
  'pipeline.run': { input: RunInput, output: RunStarted },
  'pipeline.cancel': { input: CancelInput, output: CancelResult },
  'pipeline.status': { input: PipelineStatusInput, output: PipelineStatus },
  'tables.list': { input: TablesInput, output: TableList },
  'tables.drop': { input: TableDropInput, output: TableDropResult },
  'runs.list': { input: RunsInput, output: RunList },
  'query.run': { input: QueryInput, output: QueryResult },
  'query.cancel': { input: QueryCancelInput, output: QueryCancelResult },
  'table.window': { input: TableWindowInput, output: TableWindow },
  'table.profile': { input: TableProfileInput, output: ColumnProfile },
  'table.profile.cancel': { input: TableProfileCancelInput, output: QueryCancelResult },
  'query.export': { input: QueryExportInput, output: QueryExport },
  'table.export': { input: TableExportInput, output: QueryExport },
  'pipeline.graph': { input: PipelineGraphInput, output: PipelineGraph },
  'star.schema': { input: StarSchemaInput, output: StarSchema },
  'star.orphans': { input: StarOrphansInput, output: StarOrphans },
  'history.keys': { input: HistoryKeysInput, output: HistoryKeys },
  'history.key': { input: HistoryInput, output: KeyHistory },
  'model.source': { input: ModelSourceInput, output: ModelSource },
  'model.preview': { input: ModelPreviewInput, output: ModelPreview },
  'model.preview.cancel': { input: ModelPreviewCancelInput, output: QueryCancelResult },
  'model.apply': { input: ModelApplyInput, output: ModelApplyStarted },
  'model.diff': { input: ModelDiffInput, output: ModelDiff },
  'sources.test': { input: SourceTestInput, output: SourceTestResult },
  'sources.get': { input: SourceGetInput, output: SourceDefinition },
  'sources.save': { input: SourceSaveInput, output: SourceSaveResult },
  'sources.remove': { input: SourceRemoveInput, output: SourceRemoveResult },
  'publish.iceberg.preflight': { input: IcebergPublishInput, output: IcebergPreflight },
  'publish.iceberg.run': { input: IcebergPublishInput, output: IcebergPublishResult },
  'iceberg.snapshots': { input: IcebergSnapshotsInput, output: IcebergSnapshots },
  'iceberg.scan': { input: IcebergScanInput, output: IcebergScan },
  'iceberg.diff': { input: IcebergDiffInput, output: IcebergDiff },
  'iceberg.orphans': { input: IcebergOrphansInput, output: IcebergOrphans },
  'publish.redshift.preflight': { input: RedshiftPublishInput, output: RedshiftPreflight },
  'publish.redshift.run': { input: RedshiftPublishInput, output: RedshiftPublishResult },
  'publish.cancel': { input: PublishCancelInput, output: PublishCancelResult },
} as const;

export type MethodName = keyof typeof methods;
/** What a caller passes (defaults not yet applied). */
export type MethodInput<M extends MethodName> = z.input<(typeof methods)[M]['input']>;
/** What the dispatcher's handler receives (defaults applied). */
export type MethodArgs<M extends MethodName> = z.output<(typeof methods)[M]['input']>;
export type MethodOutput<M extends MethodName> = z.output<(typeof methods)[M]['output']>;

export const METHOD_NAMES = Object.keys(methods) as MethodName[];

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.hasOwn(methods, name);
}

/** Electron IPC channels: one for calls, one for events (see electron/preload.ts). */
export const IPC_INVOKE_CHANNEL = 'lakehouse:invoke';
export const IPC_EVENT_CHANNEL = 'lakehouse:event';

/**
 * The client side of one transport (Electron IPC, HTTP, in-process). It moves calls and events and
 * knows nothing of methods; the client (renderer/src/api/client.ts) types and checks them.
 */
export interface Transport {
  /** Sends one call; resolves to the reply (an RpcResponse). Rejects only when the engine cannot be reached. */
  invoke(method: string, input: unknown): Promise<unknown>;
  /** Subscribes to every event the engine pushes; returns the unsubscribe. */
  subscribe(listener: (event: unknown) => void): () => void;
  /** Resolves once events reach subscribers (HTTP: the event stream is open); subscribe first. */
  ready(): Promise<void>;
  /** Stops event delivery and frees what the transport holds (sockets, listeners). */
  close(): void;
}

/** What the preload exposes as `window.lakehouse`: one invoke, one event subscription, nothing else. */
export interface LakehouseBridge {
  /** Resolves to an RpcResponse; never rejects for engine errors. */
  invoke(method: string, input: unknown): Promise<unknown>;
  onEvent(listener: (event: unknown) => void): () => void;
}

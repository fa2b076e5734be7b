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
  'TEST_FAILED',
  'ACCOUNTING_MISMATCH',
  'RUN_CANCELLED',
  'RUN_LOCKED',
  'INVALID_ARGUMENT',
  'QUERY_ERROR',
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
  const date = new Date(Date.UTC(y, m - 1, d));
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

export const SourceInfo = z.object({ name: z.string(), kind: z.enum(['daily_parquet', 'file']) });
export type SourceInfo = z.infer<typeof SourceInfo>;

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
  /** Every date the daily sources have, sorted. */
  availableDates: z.array(IsoDate),
  /** Why availableDates is empty when a source cannot be listed (e.g. its folder moved); the graph still shows. */
  sourceError: ErrorPayload.nullable(),
  /** The run in progress, if any (a UI that reconnects picks its progress up from here). */
  activeRunId: z.string().nullable(),
});
export type ProjectInfo = z.infer<typeof ProjectInfo>;

// --------------------------------------------------------------------------------------------- pipeline

/** Dates to run, or a from/to range; neither means every date the sources have. */
export const RunInput = z
  .strictObject({
    dates: z.array(IsoDate).min(1).optional(),
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

/** `pipeline.run` answers as soon as the run has started; progress and the summary follow as events. */
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
  /** File of the model that builds it; null for tables no model builds (quarantine). */
  model: z.string().nullable(),
  materialized: Materialization.nullable(),
  /** Committed date partitions (bronze and silver); null for warehouse tables. */
  partitions: z.number().nullable(),
});
export type TableInfo = z.infer<typeof TableInfo>;

export const TableList = z.object({ tables: z.array(TableInfo) });
export type TableList = z.infer<typeof TableList>;

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
  startedAt: z.string(),
  finishedAt: z.string().nullable(),
  /** running, success, failed, cancelled or abandoned (a process that died mid-run). */
  status: z.string(),
  /** Comma-separated dates. */
  dates: z.string(),
  selection: z.string(),
  error: z.string().nullable(),
  models: z.array(RunHistoryModel),
});
export type RunHistoryEntry = z.infer<typeof RunHistoryEntry>;

/** Newest first. */
export const RunList = z.object({ runs: z.array(RunHistoryEntry) });
export type RunList = z.infer<typeof RunList>;

// ------------------------------------------------------------------------------------------------ query

/** One read-only query (SELECT, WITH, FROM, VALUES, SHOW, DESCRIBE, SUMMARIZE) and the window of rows wanted. */
export const QueryInput = z.strictObject({
  sql: z.string().trim().min(1, 'the query is empty').max(1_000_000),
  limit: z.number().int().min(1).max(10_000).default(1000),
  offset: z.number().int().min(0).default(0),
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
});
export type QueryResult = z.infer<typeof QueryResult>;

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

/** Everything the engine pushes to the UI. Events may arrive before the reply of the call that caused them. */
export const LakehouseEvent = z.discriminatedUnion('type', [RunProgressEvent, RunFinishedEvent]);
export type LakehouseEvent = z.infer<typeof LakehouseEvent>;

// ---------------------------------------------------------------------------------------------- methods

/** Every method a transport may call, with its input and output schemas. */
export const methods = {
  'project.info': { input: ProjectInfoInput, output: ProjectInfo },
  'pipeline.run': { input: RunInput, output: RunStarted },
  'pipeline.cancel': { input: CancelInput, output: CancelResult },
  'tables.list': { input: TablesInput, output: TableList },
  'runs.list': { input: RunsInput, output: RunList },
  'query.run': { input: QueryInput, output: QueryResult },
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

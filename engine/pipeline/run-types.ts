// What a run takes (options, the engine's parts) and what it reports (records, progress, summary). Apart
// from runner.ts so the modules a run is split into share these types without importing the runner.

import type { ErrorPayload, LakehouseError } from '../api/errors.ts';
import type { Db } from '../db/duckdb.ts';
import type { ModelGraph } from '../graph/dependencies.ts';
import type { TestHints } from '../materializations/context.ts';
import type { TitleIndex } from '../normalize/matcher.ts';
import type { Project } from '../project/config.ts';
import type { TestResult } from '../quality/data-tests.ts';

export interface RunOptions {
  /** Dates to run, YYYY-MM-DD; or a range with from/to; neither means every date the sources have. */
  dates?: string[];
  from?: string;
  to?: string;
  /** Model selectors: `m`, `m+` (and downstream), `+m` (and upstream). Default: every model. */
  select?: string[];
  onProgress?: (event: ProgressEvent) => void;
  signal?: AbortSignal;
}

export type ModelStatus = 'success' | 'failed' | 'skipped' | 'rolled_back';

export interface ModelRunRecord {
  model: string;
  etlDate: string;
  status: ModelStatus;
  rowsIn: number;
  rowsOut: number;
  duplicatesRemoved: number;
  quarantined: number;
  durationMs: number;
  error?: string;
  tests: TestResult[];
  warnings: string[];
  /** Those of the warnings that explain a failed test, for the run's error (not stored apart). */
  testHints?: TestHints;
  /** Other committed dates the model's replay rebuilt on this date (see MaterializeOutcome). */
  replayedDates?: string[];
}

/** The model a date is running, from its start until it returns its record. */
export interface RunningModel {
  model: string;
  /** Date.now() at its start. */
  started: number;
}

export interface ProgressEvent {
  kind: 'run-start' | 'model-start' | 'model-done' | 'date-committed' | 'run-done';
  runId: string;
  date?: string;
  model?: string;
  /** Steps done and total (one step = one model on one date). */
  done: number;
  total: number;
  record?: ModelRunRecord;
}

export interface RunSummary {
  runId: string;
  status: 'success' | 'failed' | 'cancelled';
  dates: string[];
  models: ModelRunRecord[];
  durationMs: number;
  error?: ErrorPayload & { details: Record<string, unknown> };
}

export interface RunnerDeps {
  db: Db;
  project: Project;
  graph: ModelGraph;
  titleIndexes: Map<string, TitleIndex>;
  /** Models left out of the graph (see Engine.modelErrors): a run refuses while there are any. */
  modelErrors?: LakehouseError[];
  /** The macro files' text the connection loaded (macroFilesText); read from the files when not given. */
  macroText?: string;
  signal?: AbortSignal;
}

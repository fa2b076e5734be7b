import type { GraphNodeState, GraphNote, ModelRunRecord, RunStep } from '../../../../engine/api/contract.ts';
import { replayDateOf } from '../../../../engine/api/history-notes.ts';

/**
 * What a model card shows: its last status and, once done, its duration and tests; the rows its table
 * holds once committed, the rows it wrote while a run is still going.
 */
export interface CardState {
  status: string;
  /** The status a card had when a run marked it queued. */
  before?: string;
  /** Set by the run in progress (queued, running, its record): a graph load must not replace it. */
  fromRun?: boolean;
  tableRows?: number | null;
  rowsWritten?: number;
  datesRun?: number;
  durationMs?: number;
  testsPassed?: number;
  testsFailed?: number;
  testsWarned?: number;
  error?: string | null;
  /** What the model's latest run noted (from the graph; a run in progress clears them). */
  notes?: GraphNote[];
  /** A history model's date of the run in progress that leaves its replay to this later date of the run. */
  replaysOn?: string;
}

/**
 * A card from the graph. A model the latest run stopped before (an upstream failed, a cancel) reads
 * "not run" with the run's reason, not the success of the earlier run its figures come from.
 */
export function cardFromGraph(state: GraphNodeState): CardState {
  return {
    notes: state.notes,
    status: state.notRun ? 'skipped' : state.status,
    tableRows: state.tableRows,
    rowsWritten: state.rowsOut,
    datesRun: state.dates.length,
    durationMs: state.durationMs,
    testsPassed: state.testsPassed,
    testsFailed: state.testsFailed,
    testsWarned: state.testsWarned,
    error: state.notRun?.reason ?? state.error,
  };
}

/** A card once its model is done on a date of the run in progress. */
export function cardFromRecord(record: ModelRunRecord): CardState {
  return {
    fromRun: true,
    status: record.status,
    rowsWritten: record.rowsOut,
    replaysOn: record.status === 'success' ? replayDateOf(record.etlDate, record.warnings) : undefined,
    durationMs: record.durationMs,
    testsPassed: record.tests.filter((t) => t.passed).length,
    testsFailed: record.tests.filter((t) => !t.passed && t.severity === 'error').length,
    testsWarned: record.tests.filter((t) => !t.passed && t.severity === 'warn').length,
    error: record.error ?? null,
  };
}

/** The cards as the run's events would have left them: queued, then each step running or done. */
export function cardsOfRun(cards: Map<string, CardState>, steps: RunStep[]): Map<string, CardState> {
  const next = new Map<string, CardState>(
    [...cards].map(([id, c]) => [
      id,
      { ...c, status: 'queued', before: c.status, fromRun: true, notes: undefined },
    ]),
  );
  for (const { model, record } of steps) {
    next.set(
      model,
      record ? cardFromRecord(record) : { ...next.get(model), status: 'running', fromRun: true },
    );
  }
  return next;
}

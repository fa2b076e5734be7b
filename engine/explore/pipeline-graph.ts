import type { GraphEdge, GraphNodeState, PipelineGraph, TestResult } from '../api/contract.ts';
import { replayedRangeOf } from '../api/history-notes.ts';
import { groupNotes, WARNED_TEST } from '../api/notes.ts';
import type { Engine } from '../engine.ts';
import { runClockOrder } from '../warehouse/metadata.ts';
import { relationExists, relationOf } from './star-schema.ts';

interface ModelRunRow {
  run_id: string;
  model: string;
  etl_date: string | null;
  status: string;
  rows_in: number | string | null;
  rows_out: number | string | null;
  duplicates_removed: number | string | null;
  quarantined: number | string | null;
  duration_ms: number | string | null;
  error: string | null;
  tests: string | null;
  warnings: string | null;
}

// A model's status over the dates of one run is the worst of them; so is a test's outcome.
const STATUS_RANK: Record<string, number> = { failed: 4, rolled_back: 3, skipped: 2, success: 1 };
const TEST_RANK = { passed: 0, warned: 1, failed: 2 } as const;

/**
 * The model graph as the pipeline view draws it: each model's state in the latest run that reached it
 * (a run of a selection leaves the others as they were) with the rows its table holds now, and on each
 * edge the rows the downstream model read from its upstream in that run (or, when that run committed
 * nothing for it, in the latest run that did).
 */
export async function pipelineGraph(engine: Engine): Promise<PipelineGraph> {
  const rows = await engine.reader.allJson<ModelRunRow>(
    `WITH latest AS (
       SELECT m.model, arg_max(m.run_id, ${runClockOrder('r')}) AS run_id
       FROM _lakehouse.model_runs AS m JOIN _lakehouse.runs AS r USING (run_id)
       WHERE m.status <> 'skipped' OR m.error NOT LIKE 'not run:%'
       GROUP BY m.model
     )
     SELECT m.run_id, m.model, strftime(m.etl_date, '%Y-%m-%d') AS etl_date, m.status, m.rows_in, m.rows_out,
            m.duplicates_removed, m.quarantined, m.duration_ms, m.error, m.tests, m.warnings
     FROM _lakehouse.model_runs AS m
     JOIN latest AS l ON l.model = m.model AND l.run_id = m.run_id
     ORDER BY m.model, m.etl_date`,
  );
  // The dates each model committed in the latest run where it committed any: what its edges show
  // when its latest run committed nothing (cancelled or failed), instead of 0.
  const lastCommitted = await engine.reader.allJson<{ model: string; etl_date: string }>(
    `WITH latest AS (
       SELECT m.model, arg_max(m.run_id, ${runClockOrder('r')}) AS run_id
       FROM _lakehouse.model_runs AS m JOIN _lakehouse.runs AS r USING (run_id)
       WHERE m.status = 'success'
       GROUP BY m.model
     )
     SELECT m.model, strftime(m.etl_date, '%Y-%m-%d') AS etl_date
     FROM _lakehouse.model_runs AS m JOIN latest AS l ON l.model = m.model AND l.run_id = m.run_id
     WHERE m.status = 'success' AND m.etl_date IS NOT NULL`,
  );
  const notRun = await notRunSince(engine);
  const committed = await committedRows(engine);
  const byModel = new Map<string, GraphNodeState>();
  // Per model, each test's worst outcome over the run's dates: a test counts once, not once per date.
  const testsByModel = new Map<string, Map<string, TestResult>>();
  const notesByModel = new Map<string, { etlDate: string | null; text: string }[]>();
  // The dates a history model's replay read again, first to last: its edges count them all.
  const replayedByModel = new Map<string, { first: string; last: string }>();
  for (const row of rows) {
    const state =
      byModel.get(row.model) ?? emptyState(engine, row.model, row.run_id, committed.tables, notRun);
    if (row.etl_date) {
      state.perDate.push({
        etlDate: row.etl_date,
        status: row.status,
        rowsIn: Number(row.rows_in ?? 0),
        rowsOut: Number(row.rows_out ?? 0),
        duplicatesRemoved: Number(row.duplicates_removed ?? 0),
        quarantined: Number(row.quarantined ?? 0),
      });
    }
    if ((STATUS_RANK[row.status] ?? 0) > (STATUS_RANK[state.status] ?? 0)) state.status = row.status;
    state.durationMs += Number(row.duration_ms ?? 0);
    // Rows and dates count what the run committed: a date that failed or was rolled back kept nothing.
    if (row.status === 'success') {
      if (row.etl_date) state.dates.push(row.etl_date);
      state.rowsIn += Number(row.rows_in ?? 0);
      // A table rebuilt whole each date holds its last date's rows; other models add rows per date.
      const rebuilt = engine.graph.byId.get(row.model)?.model.config.materialized === 'table';
      state.rowsOut = rebuilt ? Number(row.rows_out ?? 0) : state.rowsOut + Number(row.rows_out ?? 0);
    }
    state.error ??= row.error;
    const notes = notesByModel.get(row.model) ?? [];
    const warnings = JSON.parse(row.warnings ?? '[]') as string[];
    const replayed = row.status === 'success' ? replayedRangeOf(warnings) : undefined;
    const seen = replayedByModel.get(row.model);
    if (replayed) {
      replayedByModel.set(row.model, {
        first: seen && seen.first < replayed.first ? seen.first : replayed.first,
        last: seen && seen.last > replayed.last ? seen.last : replayed.last,
      });
    }
    for (const text of warnings) {
      // A warned test's note repeats what failedTests shows with its rows.
      if (!text.startsWith(WARNED_TEST)) notes.push({ etlDate: row.etl_date, text });
    }
    notesByModel.set(row.model, notes);
    const tests = testsByModel.get(row.model) ?? new Map<string, TestResult>();
    for (const test of JSON.parse(row.tests ?? '[]') as TestResult[]) {
      const seen = tests.get(test.name);
      if (!seen || TEST_RANK[outcome(test)] > TEST_RANK[outcome(seen)]) tests.set(test.name, test);
    }
    testsByModel.set(row.model, tests);
    byModel.set(row.model, state);
  }
  for (const [model, notes] of notesByModel) byModel.get(model)!.notes = groupNotes(notes);
  for (const [model, tests] of testsByModel) {
    const state = byModel.get(model)!;
    for (const test of tests.values()) {
      const result = outcome(test);
      if (result === 'passed') state.testsPassed++;
      else if (result === 'warned') state.testsWarned++;
      else state.testsFailed++;
      if (result !== 'passed' && state.failedTests.length < 10) state.failedTests.push(test);
    }
  }
  const edges: GraphEdge[] = [];
  for (const node of engine.graph.nodes) {
    const downstream = byModel.get(node.model.id);
    for (const from of node.upstream) {
      const upstream = byModel.get(from);
      const ran =
        downstream && downstream.dates.length > 0
          ? downstream.dates
          : lastCommitted.filter((r) => r.model === node.model.id).map((r) => r.etl_date);
      // A replay read every date it applied, not only the dates its run ran (a re-run of one older date).
      const replayed = downstream ? replayedByModel.get(node.model.id) : undefined;
      const dates = replayed
        ? [
            ...new Set([
              ...ran,
              ...[...(committed.partitions.get(from)?.keys() ?? [])].filter(
                (d) => d >= replayed.first && d <= replayed.last,
              ),
            ]),
          ]
        : ran;
      edges.push({
        from,
        to: node.model.id,
        rows: downstream && upstream ? rowsRead(from, dates, committed) : null,
      });
    }
  }
  return {
    nodes: engine.graph.nodes.flatMap((n) => {
      const state = byModel.get(n.model.id);
      return state ? [state] : [];
    }),
    edges,
  };
}

function outcome(test: TestResult): keyof typeof TEST_RANK {
  if (test.passed) return 'passed';
  return test.severity === 'warn' ? 'warned' : 'failed';
}

/** Committed rows now: per relation for tables, per relation and date for partitions. */
interface CommittedRows {
  tables: Map<string, number>;
  partitions: Map<string, Map<string, number>>;
}

async function committedRows(engine: Engine): Promise<CommittedRows> {
  const partitions = new Map<string, Map<string, number>>();
  const dated = await engine.reader.allJson<{ relation: string; etl_date: string; rows: number }>(
    `SELECT relation, strftime(etl_date, '%Y-%m-%d') AS etl_date, row_count AS rows FROM _lakehouse.partitions`,
  );
  for (const p of dated) {
    const byDate = partitions.get(p.relation) ?? new Map<string, number>();
    byDate.set(p.etl_date, Number(p.rows));
    partitions.set(p.relation, byDate);
  }
  const tables = new Map<string, number>();
  for (const [relation, byDate] of partitions) tables.set(relation, sum(byDate.values()));
  for (const { model } of engine.graph.nodes) {
    if (partitions.has(model.id) || !(await relationExists(engine.reader, model))) continue;
    const count = await engine.reader.scalar<number | bigint>(`SELECT count(*) FROM ${relationOf(model)}`);
    tables.set(model.id, Number(count ?? 0));
  }
  return { tables, partitions };
}

/**
 * What a model reads from `upstream` for its dates: those dates' partitions of a partitioned upstream
 * (models filter on the date being run), the whole table otherwise (dimensions are looked up whole).
 */
function rowsRead(upstream: string, dates: string[], committed: CommittedRows): number | null {
  const byDate = committed.partitions.get(upstream);
  if (!byDate) return committed.tables.get(upstream) ?? null;
  return sum(dates.map((d) => byDate.get(d) ?? 0));
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/**
 * Models whose latest run stopped before reaching them (the query above skips such records, so a card
 * keeps the run that last ran the model): the run, and its `not run: ...` reason, by model.
 */
async function notRunSince(engine: Engine): Promise<Map<string, { runId: string; reason: string }>> {
  const rows = await engine.reader.allJson<{
    model: string;
    run_id: string;
    not_run: boolean;
    reason: string;
  }>(
    `WITH per_run AS (
       SELECT m.model, m.run_id, any_value(r.started_at) AS started_at, min(m.error) AS reason,
              bool_and(m.status = 'skipped' AND coalesce(m.error LIKE 'not run:%', false)) AS not_run
       FROM _lakehouse.model_runs AS m JOIN _lakehouse.runs AS r USING (run_id)
       GROUP BY m.model, m.run_id
     )
     SELECT p.model, arg_max(p.run_id, ${runClockOrder('p')}) AS run_id,
            arg_max(p.not_run, ${runClockOrder('p')}) AS not_run, arg_max(p.reason, ${runClockOrder('p')}) AS reason
     FROM per_run AS p GROUP BY p.model`,
  );
  return new Map(rows.filter((r) => r.not_run).map((r) => [r.model, { runId: r.run_id, reason: r.reason }]));
}

function emptyState(
  engine: Engine,
  model: string,
  runId: string,
  tables: Map<string, number>,
  notRun: Map<string, { runId: string; reason: string }>,
): GraphNodeState {
  return {
    model,
    runId,
    status: 'success',
    dates: [],
    rowsIn: 0,
    rowsOut: 0,
    tableRows: tables.get(model) ?? null,
    durationMs: 0,
    testsPassed: 0,
    testsWarned: 0,
    testsFailed: 0,
    failedTests: [],
    error: null,
    notes: [],
    reconcileWith: engine.graph.byId.get(model)?.model.config.reconcile_with ?? null,
    perDate: [],
    notRun: notRun.get(model) ?? null,
  };
}

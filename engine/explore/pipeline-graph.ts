import type { GraphEdge, GraphNodeState, PipelineGraph, TestResult } from '../api/contract.ts';
import type { Engine } from '../engine.ts';

interface ModelRunRow {
  run_id: string;
  model: string;
  etl_date: string | null;
  status: string;
  rows_in: number | string | null;
  rows_out: number | string | null;
  duration_ms: number | string | null;
  error: string | null;
  tests: string | null;
}

// A model's status over the dates of one run is the worst of them.
const STATUS_RANK: Record<string, number> = { failed: 4, rolled_back: 3, skipped: 2, success: 1 };

/**
 * The model graph as the pipeline view draws it: each model's state in the latest run that reached it
 * (a run of a selection leaves the others as they were), and on each edge the rows its upstream wrote
 * in its latest run: the rows the downstream model read from it.
 */
export async function pipelineGraph(engine: Engine): Promise<PipelineGraph> {
  const rows = await engine.reader.allJson<ModelRunRow>(
    `WITH latest AS (
       SELECT m.model, arg_max(m.run_id, r.started_at) AS run_id
       FROM _lakehouse.model_runs AS m JOIN _lakehouse.runs AS r USING (run_id)
       WHERE m.status <> 'skipped' OR m.error NOT LIKE 'not run:%'
       GROUP BY m.model
     )
     SELECT m.run_id, m.model, strftime(m.etl_date, '%Y-%m-%d') AS etl_date, m.status, m.rows_in, m.rows_out,
            m.duration_ms, m.error, m.tests
     FROM _lakehouse.model_runs AS m
     JOIN latest AS l ON l.model = m.model AND l.run_id = m.run_id
     ORDER BY m.model, m.etl_date`,
  );
  const byModel = new Map<string, GraphNodeState>();
  for (const row of rows) {
    const state = byModel.get(row.model) ?? emptyState(row.model, row.run_id);
    if (row.etl_date) state.dates.push(row.etl_date);
    if ((STATUS_RANK[row.status] ?? 0) > (STATUS_RANK[state.status] ?? 0)) state.status = row.status;
    state.rowsIn += Number(row.rows_in ?? 0);
    // A table rebuilt whole each date holds its last date's rows; other models add rows per date.
    const rebuilt = engine.graph.byId.get(row.model)?.model.config.materialized === 'table';
    state.rowsOut = rebuilt ? Number(row.rows_out ?? 0) : state.rowsOut + Number(row.rows_out ?? 0);
    state.durationMs += Number(row.duration_ms ?? 0);
    state.error ??= row.error;
    for (const test of JSON.parse(row.tests ?? '[]') as TestResult[]) {
      if (test.passed) state.testsPassed++;
      else if (test.severity === 'warn') state.testsWarned++;
      else state.testsFailed++;
      if (!test.passed && state.failedTests.length < 10) state.failedTests.push(test);
    }
    byModel.set(row.model, state);
  }
  const edges: GraphEdge[] = [];
  for (const node of engine.graph.nodes) {
    const downstream = byModel.get(node.model.id);
    for (const from of node.upstream) {
      const upstream = byModel.get(from);
      edges.push({ from, to: node.model.id, rows: downstream && upstream ? upstream.rowsOut : null });
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

function emptyState(model: string, runId: string): GraphNodeState {
  return {
    model,
    runId,
    status: 'success',
    dates: [],
    rowsIn: 0,
    rowsOut: 0,
    durationMs: 0,
    testsPassed: 0,
    testsWarned: 0,
    testsFailed: 0,
    failedTests: [],
    error: null,
  };
}

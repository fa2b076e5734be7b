import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelineGraph } from '../../engine/explore/pipeline-graph.ts';
import { generatedProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';

// The pipeline graph after a run cancelled on its second date: the cards say the run rolled back, and
// their rows, dates and edges count only the date it committed.

let work: string;
let dir: string;
let dates: string[];

beforeAll(async () => {
  work = await tempDir('pipeline-graph-');
  ({ dir, dates } = await generatedProject(work, 2, 300));
}, 120_000);

afterAll(() => removeDir(work));

describe('the pipeline graph after a cancelled run', () => {
  it('counts the rows and dates the run committed, not those it rolled back', async () => {
    await withEngine(dir, async (engine) => {
      const [first, second] = dates as [string, string];
      const controller = new AbortController();
      const summary = await engine.run({
        dates: [first, second],
        signal: controller.signal,
        // Silver has written the second date's partition (uncommitted) when the cancel comes.
        onProgress: (event) => {
          if (event.kind === 'model-start' && event.date === second && event.model === 'gold.dim_user') {
            controller.abort();
          }
        },
      });
      expect(summary.status).toBe('cancelled');
      const firstRows = summary.models.find(
        (m) => m.model === 'silver.customer_search' && m.etlDate === first,
      )!.rowsOut;
      const secondRecord = summary.models.find(
        (m) => m.model === 'silver.customer_search' && m.etlDate === second,
      );
      expect(secondRecord).toMatchObject({ status: 'rolled_back' });
      expect(secondRecord!.rowsOut).toBeGreaterThan(0);

      const graph = await pipelineGraph(engine);
      const silver = graph.nodes.find((n) => n.model === 'silver.customer_search')!;
      expect(silver).toMatchObject({
        status: 'rolled_back',
        dates: [first],
        rowsOut: firstRows,
        tableRows: firstRows,
      });
      // What the fact's dimensions read from silver: the committed date's partition only.
      const edge = graph.edges.find((e) => e.from === 'silver.customer_search' && e.to === 'gold.dim_user');
      expect(edge?.rows).toBe(firstRows);
    });
  }, 120_000);

  it('shows on each edge what the last committed run read when the latest run committed nothing', async () => {
    await withEngine(dir, async (engine) => {
      const [first, second] = dates as [string, string];
      expect((await engine.run({ dates: [first, second] })).status).toBe('success');
      const read = (graph: Awaited<ReturnType<typeof pipelineGraph>>) =>
        graph.edges.find((e) => e.from === 'silver.customer_search' && e.to === 'gold.dim_user')?.rows;
      const committed = read(await pipelineGraph(engine));
      expect(committed).toBeGreaterThan(0);
      // Cancelled on its only date: every model it reached rolled back, and the lake is as it was.
      const controller = new AbortController();
      const summary = await engine.run({
        dates: [second],
        signal: controller.signal,
        onProgress: (event) => {
          if (event.kind === 'model-done' && event.model === 'gold.dim_user') controller.abort();
        },
      });
      expect(summary.status).toBe('cancelled');
      const graph = await pipelineGraph(engine);
      expect(graph.nodes.find((n) => n.model === 'gold.dim_user')?.dates).toEqual([]);
      expect(read(graph)).toBe(committed);
    });
  }, 120_000);
});

// Engine bug: a cancel that stopped a model before it returned (as it started, or during its statement)
// recorded it 'skipped' ("not run: The run was cancelled."), while one landing just after it returned
// recorded it 'rolled_back'; the graph then showed the stopped model's previous run as if it were current.
describe('the pipeline graph after a cancel that stops a model while it runs', () => {
  const seeded = () => join(dir, 'models', 'gold', 'seeded_wait.sql');
  const withSelect = (select: string) => `/* config\nmaterialized: table\n*/\nSELECT ${select} AS total\n`;

  it.each([
    ['as it starts, before its first statement', 0],
    ['while its statement runs', 300],
  ])(
    'records the model a cancel stops %s as rolled back, and the graph shows it so',
    async (_when, delay) => {
      const [first] = dates as [string];
      await writeFile(seeded(), withSelect('1'));
      try {
        const earlier = await withEngine(dir, (engine) =>
          engine.run({ dates: [first], select: ['gold.seeded_wait'] }),
        );
        expect(earlier.status).toBe('success');
        // Now it runs until interrupted: the cancel always lands before it returns.
        await writeFile(seeded(), withSelect('(SELECT sum(i) FROM range(1000000000000) t(i))'));
        await withEngine(dir, async (engine) => {
          const controller = new AbortController();
          const summary = await engine.run({
            dates: [first],
            select: ['gold.seeded_wait'],
            signal: controller.signal,
            onProgress: (event) => {
              if (event.kind !== 'model-start' || event.model !== 'gold.seeded_wait') return;
              if (delay === 0) controller.abort();
              else setTimeout(() => controller.abort(), delay);
            },
          });
          expect(summary.status).toBe('cancelled');
          const stopped = {
            model: 'gold.seeded_wait',
            status: 'rolled_back',
            error: 'cancelled while running',
          };
          expect(summary.models).toMatchObject([stopped]);
          expect(summary.models[0]!.durationMs).toBeGreaterThanOrEqual(delay);
          const [recorded] = await engine.runs(1);
          expect(recorded!.models).toMatchObject([stopped]);

          // The card is this run's, rolled back with nothing committed: not the earlier run's success.
          const node = (await pipelineGraph(engine)).nodes.find((n) => n.model === 'gold.seeded_wait');
          expect(node).toMatchObject({
            runId: summary.runId,
            status: 'rolled_back',
            dates: [],
            notRun: null,
            error: 'cancelled while running',
          });
          expect(node!.runId).not.toBe(earlier.runId);
        });
      } finally {
        await rm(seeded(), { force: true });
      }
    },
    60_000,
  );
});

describe('the pipeline graph after a re-run of an older date', () => {
  it("counts on a history model's edges every date its replay read, not only the date run", async () => {
    await withEngine(dir, async (engine) => {
      const [first, second] = dates as [string, string];
      expect((await engine.run({})).status).toBe('success');
      const again = await engine.run({ dates: [first] });
      expect(again.status).toBe('success');
      const history = again.models.find((m) => m.model === 'gold.dim_user_history')!;
      expect(history.warnings).toContain(`replayed 2 dates ${first} .. ${second} to rebuild history`);

      const graph = await pipelineGraph(engine);
      const partitions = await engine.query(
        `SELECT sum(row_count) AS n
         FROM _lakehouse.partitions WHERE relation = 'silver.user_plans_map'`,
      );
      const edge = (to: string) =>
        graph.edges.find((e) => e.from === 'silver.user_plans_map' && e.to === to)?.rows;
      // The replay read both dates' plans; bridge_user_plan replayed them too.
      expect(edge('gold.dim_user_history')).toBe(Number(partitions.rows[0]?.n));
      expect(edge('gold.bridge_user_plan')).toBe(Number(partitions.rows[0]?.n));
      // A model that does not replay read only the date run.
      const silverFirst = await engine.query(
        `SELECT row_count AS n FROM _lakehouse.partitions WHERE relation = 'silver.customer_search' AND etl_date = DATE '${first}'`,
      );
      const dimUser = graph.edges.find(
        (e) => e.from === 'silver.customer_search' && e.to === 'gold.dim_user',
      );
      expect(dimUser?.rows).toBe(Number(silverFirst.rows[0]?.n));
    });
  }, 120_000);
});

describe('the pipeline graph after a run that failed its row accounting', () => {
  it("shows each date's accounting, the failed date's real counts, and the models the run did not reach", async () => {
    const own = await tempDir('pipeline-graph-accounting-');
    try {
      const { dir, dates } = await generatedProject(own, 1, 200);
      const date = dates[0]!;
      const before = await withEngine(dir, async (engine) => {
        expect((await engine.run({ dates: [date] })).status).toBe('success');
        return pipelineGraph(engine);
      });
      const silverBefore = before.nodes.find((n) => n.model === 'silver.customer_search')!;
      expect(silverBefore.reconcileWith).toBe('bronze.customer_search');
      const [accounted] = silverBefore.perDate;
      expect(accounted).toMatchObject({ etlDate: date, status: 'success' });
      expect(accounted!.rowsIn).toBe(
        accounted!.rowsOut + accounted!.duplicatesRemoved + accounted!.quarantined,
      );
      expect(before.nodes.find((n) => n.model === 'gold.fact_customer_search')?.notRun).toBeNull();

      // Silver now drops a row silently: the date fails ACCOUNTING_MISMATCH, before gold runs.
      const model = join(dir, 'models', 'silver', 'customer_search.sql');
      await writeFile(
        model,
        `${(await readFile(model, 'utf8')).trimEnd()}\nQUALIFY row_number() OVER () > 1\n`,
      );
      await withEngine(dir, async (engine) => {
        const failed = await engine.run({ dates: [date] });
        expect(failed.error?.code).toBe('ACCOUNTING_MISMATCH');
        const { rowsIn, rowsOut, duplicatesRemoved, quarantined } = failed.error!.details;
        expect(rowsIn).toBe(accounted!.rowsIn);
        expect(rowsOut).toBe(accounted!.rowsOut - 1);
        const counts = { rowsIn, rowsOut, duplicatesRemoved, quarantined };
        // The failed model's record, in the run and in the history, holds the counts, not zeros.
        expect(failed.models.find((m) => m.model === 'silver.customer_search')).toMatchObject({
          status: 'failed',
          ...counts,
        });
        const [recorded] = await engine.runs(1);
        expect(recorded!.models.find((m) => m.model === 'silver.customer_search')).toMatchObject(counts);

        const graph = await pipelineGraph(engine);
        const silver = graph.nodes.find((n) => n.model === 'silver.customer_search')!;
        expect(silver).toMatchObject({ status: 'failed', notRun: null });
        expect(silver.perDate).toEqual([{ etlDate: date, status: 'failed', ...counts }]);
        expect(graph.nodes.find((n) => n.model === 'bronze.customer_search')).toMatchObject({
          status: 'rolled_back',
          notRun: null,
        });
        // Gold was never reached: it keeps the earlier run's success, and says the latest run did not run it.
        const fact = graph.nodes.find((n) => n.model === 'gold.fact_customer_search')!;
        expect(fact.status).toBe('success');
        expect(fact.runId).not.toBe(failed.runId);
        expect(fact.notRun?.runId).toBe(failed.runId);
        expect(fact.notRun?.reason).toMatch(/^not run: silver\.customer_search /);
      });
    } finally {
      await removeDir(own);
    }
  }, 180_000);
});

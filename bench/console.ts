// `npm run bench:console -- [--project DIR]`: the SQL console's windows, read on from one execution of
// the query (the console now) against the query run again per window with LIMIT/OFFSET (before), side
// by side on the same project: the 10M project of `npm run bench:pipeline` by default.
// Prints the figures and writes bench/results/console.json.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createEngine } from '../engine/engine.ts';
import { createConsoleQueries } from '../engine/explore/query.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { project: { type: 'string', default: join(ROOT, 'bench-data', 'projects', '10M') } },
});
const project = resolve(values.project!);
if (!existsSync(join(project, 'warehouse.duckdb'))) {
  throw new Error(
    `${project} has no warehouse: run \`npm run bench:pipeline -- --sizes 10M\` first, or pass --project`,
  );
}

const QUERIES = [
  'SELECT * FROM fact_customer_search',
  'SELECT * FROM fact_customer_search ORDER BY event_id',
  'SELECT user_id, count(*) AS searches FROM fact_customer_search GROUP BY user_id',
];
/** Windows of the grid's size, up to this row: what scrolling there costs. */
const DEEP = 20_000;
const WINDOW = 1000;

const log = (line: string) => process.stdout.write(`${line}\n`);
const timed = async (fn: () => Promise<unknown>) => {
  const started = performance.now();
  await fn();
  return Math.round((performance.now() - started) * 10) / 10;
};

const engine = await createEngine({ projectDir: project, readOnly: true });
const consoles = createConsoleQueries(() => engine.openReader());
const old = await engine.openReader();
const rows: Record<string, number | string>[] = [];
try {
  log(`project ${project}; windows of ${WINDOW} rows; the console's first window includes its count (≤ 1 s)`);
  for (const sql of QUERIES) {
    // The console: the first window, the next, then on to row DEEP window by window.
    const first = await timed(() => consoles.window({ sql, limit: WINDOW, offset: 0 }));
    const next = await timed(() => consoles.window({ sql, limit: WINDOW, offset: WINDOW }));
    const toDeep = await timed(async () => {
      for (let offset = 2 * WINDOW; offset < DEEP; offset += WINDOW) {
        await consoles.window({ sql, limit: WINDOW, offset });
      }
    });
    // Before: each window ran the query again around LIMIT/OFFSET.
    const page = (offset: number) => () =>
      old.connection.runAndReadAll(
        `SELECT * FROM (${sql}\n) AS __query LIMIT ${WINDOW + 1} OFFSET ${offset}`,
      );
    const oldFirst = await timed(page(0));
    const oldNext = await timed(page(WINDOW));
    const oldDeep = await timed(page(DEEP - WINDOW));
    const row = {
      sql,
      firstMs: first,
      nextMs: next,
      toDeepMs: toDeep,
      offsetFirstMs: oldFirst,
      offsetNextMs: oldNext,
      offsetDeepWindowMs: oldDeep,
    };
    rows.push(row);
    log(`${sql}`);
    log(
      `  one execution: first ${first} ms, next ${next} ms, windows 3-${DEEP / WINDOW} ${toDeep} ms in all`,
    );
    log(
      `  LIMIT/OFFSET:  first ${oldFirst} ms, next ${oldNext} ms, the window at ${DEEP - WINDOW} alone ${oldDeep} ms`,
    );
  }
} finally {
  await consoles.close();
  old.close();
  engine.close();
}
const out = join(ROOT, 'bench', 'results');
await mkdir(out, { recursive: true });
await writeFile(
  join(out, 'console.json'),
  `${JSON.stringify(
    {
      machine: { cpus: cpus().length, memGb: Math.round(totalmem() / 2 ** 30), load: loadavg()[0] },
      date: new Date().toISOString(),
      project,
      windowRows: WINDOW,
      rows,
    },
    null,
    2,
  )}\n`,
);
log('written to bench/results/console.json');

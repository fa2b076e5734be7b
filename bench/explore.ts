// `npm run bench:explore`: the engine side of the star-schema, history, graph and edit/diff views on a
// fact table of 10M rows (the demo project's gold.fact_customer_search, refilled with synthetic rows that
// point at the real dimensions, a few at missing members and some at the unknown member).
// Prints the figures and writes bench/results/explore.json and explore.md.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createDispatcher } from '../engine/api/dispatcher.ts';
import { createEngine } from '../engine/engine.ts';
import { KNOWN_PLAN_CHANGE_USER } from '../engine/generate/generate.ts';
import { generatedProject } from '../test/helpers/project.ts';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '10000000' } } });
const ROWS = Number(values.rows);
const ROOT = resolve(import.meta.dirname, '..');
const FACT = 'gold.fact_customer_search';

const log = (line: string) => process.stdout.write(`${line}\n`);
const since = (started: number) => Math.round((performance.now() - started) * 10) / 10;

const work = await mkdtemp(join(tmpdir(), 'lakehouse-bench-explore-'));
const figures: { measure: string; ms: number; note?: string; target?: string }[] = [];
const time = async <T>(
  measure: string,
  fn: () => Promise<T>,
  extra: Partial<(typeof figures)[number]> = {},
) => {
  const started = performance.now();
  const result = await fn();
  figures.push({ measure, ms: since(started), ...extra });
  log(`${measure}: ${since(started)} ms${extra.note ? ` (${extra.note})` : ''}`);
  return result;
};

try {
  const { dir } = await generatedProject(work, 3, 300, 7);
  const engine = await createEngine({ projectDir: dir });
  const summary = await engine.run({});
  if (summary.status !== 'success') throw new Error(`demo run failed: ${summary.error?.message}`);
  const dates = summary.dates;

  // Every 100,000th row points at a platform no dimension has; rows with no genre point at key 0.
  let started = performance.now();
  // Members numbered 0..n-1 per dimension, so each synthetic row joins one by a hash of its number.
  const members: Record<string, { table: string; column: string; n: number }> = {
    u: { table: 'gold.dim_user', column: 'user_id', n: 0 },
    p: { table: 'gold.dim_platform', column: 'platform_key', n: 0 },
    w: { table: 'gold.dim_network', column: 'network_key', n: 0 },
    c: { table: 'gold.dim_category', column: 'category_key', n: 0 },
  };
  for (const [alias, m] of Object.entries(members)) {
    await engine.db.run(
      `CREATE TEMP TABLE m_${alias} AS SELECT row_number() OVER (ORDER BY ${m.column}) - 1 AS n, ${m.column} AS v FROM ${m.table}`,
    );
    m.n = Number(await engine.db.scalar(`SELECT count(*) FROM m_${alias}`));
  }
  const pick = (alias: string, salt: number) =>
    `JOIN m_${alias} AS ${alias} ON ${alias}.n = hash(i + ${salt}) % ${members[alias]!.n}`;
  const firstDay = Number(dates[0]!.replaceAll('-', ''));
  await engine.db.run(`DELETE FROM ${FACT}`);
  await engine.db.run(
    `INSERT INTO ${FACT} BY NAME
     SELECT 'evt-' || lpad(CAST(i AS VARCHAR), 9, '0') AS event_id,
            TIMESTAMP '${dates[0]} 00:00:00' + to_seconds(CAST(i % 259200 AS BIGINT)) AS datetime_log,
            ${firstDay} + CAST(i % 3 AS INTEGER) AS date_key,
            u.v AS user_id,
            'phim hành động ' || CAST(i % 9973 AS VARCHAR) AS keyword,
            'phim-hanh-dong-' || CAST(i % 9973 AS VARCHAR) AS keyword_slug,
            'movie' AS category,
            ['search', 'click', 'play'][1 + CAST(i % 3 AS INTEGER)] AS action,
            w.v AS network_key,
            CASE WHEN i % 100000 = 0 THEN 999999 ELSE p.v END AS platform_key,
            CASE WHEN i % 7 = 0 THEN 0 ELSE c.v END AS main_keyword_category,
            CASE WHEN i % 3 = 0 THEN 0 ELSE c.v END AS sub1_keyword_category,
            0 AS sub2_keyword_category,
            0 AS sub3_keyword_category
     FROM range(${ROWS}) AS t(i) ${pick('u', 0)} ${pick('p', 1)} ${pick('w', 2)} ${pick('c', 3)}`,
  );
  await engine.db.run('CHECKPOINT');
  log(`filled ${FACT} with ${ROWS.toLocaleString()} rows in ${since(started)} ms`);

  const dispatcher = createDispatcher(engine);
  const star = (await time('star.schema: every FK edge counted (8 fact + 2 bridge edges)', () =>
    dispatcher.call('star.schema', {}),
  )) as { edges: { column: string; missing: number; unknown: number }[] };
  const platform = star.edges.find((e) => e.column === 'platform_key');
  figures.at(-1)!.target = '≤ 3 s';
  figures.at(-1)!.note =
    `platform_key: ${platform?.missing} missing, main_keyword_category: ${star.edges.find((e) => e.column === 'main_keyword_category')?.unknown} unknown`;
  await time('star.orphans: missing platform rows, first 200', () =>
    dispatcher.call('star.orphans', {
      from: FACT,
      column: 'platform_key',
      to: 'gold.dim_platform',
      kind: 'missing',
    }),
  );
  await time('star.orphans: unknown main category rows, first 200', () =>
    dispatcher.call('star.orphans', {
      from: FACT,
      column: 'main_keyword_category',
      to: 'gold.dim_category',
      kind: 'unknown',
    }),
  );
  await time('pipeline.graph', () => dispatcher.call('pipeline.graph', {}));
  await time('history.keys (dim_user_history, most versions first)', () =>
    dispatcher.call('history.keys', { model: 'gold.dim_user_history' }),
  );
  await time('history.key (dim_user_history, known user)', () =>
    dispatcher.call('history.key', { model: 'gold.dim_user_history', key: KNOWN_PLAN_CHANGE_USER }),
  );
  const text = await readFile(join(dir, 'models', 'gold', 'fact_customer_search.sql'), 'utf8');
  const edited = text.replace('  e.category,\n', '  upper(e.category) AS category,\n');
  await time('model.preview (fact, one date, 100 rows)', () =>
    dispatcher.call('model.preview', { model: FACT, text: edited }),
  );
  started = performance.now();
  const applied = (await dispatcher.call('model.apply', {
    model: FACT,
    text: edited,
    dates: [dates.at(-1)],
  })) as {
    runId: string;
  };
  figures.push({
    measure: `model.apply until the run starts (save, snapshot of the ${ROWS.toLocaleString()}-row fact)`,
    ms: since(started),
  });
  log(`${figures.at(-1)!.measure}: ${figures.at(-1)!.ms} ms`);
  const diff = (await dispatcher.call('model.diff', { runId: applied.runId })) as {
    tables: { changed: number; rowsAfter: number }[];
  };
  figures.push({
    measure: `model.apply + run of one date + model.diff of the ${ROWS.toLocaleString()}-row fact`,
    ms: since(started),
    note: `${diff.tables[0]?.changed} rows changed of ${diff.tables[0]?.rowsAfter?.toLocaleString()}`,
  });
  log(`${figures.at(-1)!.measure}: ${figures.at(-1)!.ms} ms (${figures.at(-1)!.note})`);
  const { runs } = (await dispatcher.call('runs.list', { limit: 1 })) as {
    runs: { models: { durationMs: number }[] }[];
  };
  const run = runs[0];
  figures.push({
    measure: '… of which the run itself (fact, one date)',
    ms: run?.models[0]?.durationMs ?? Number.NaN,
  });
  log(`${figures.at(-1)!.measure}: ${figures.at(-1)!.ms} ms`);
  await dispatcher.close();
  engine.close();

  const results = {
    date: new Date().toISOString(),
    // The machine is shared: the 1-minute load average at the end says how busy it was.
    machine: {
      cpus: cpus().length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      load: loadavg()[0]?.toFixed(1),
    },
    rows: ROWS,
    figures,
  };
  await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
  await writeFile(join(ROOT, 'bench', 'results', 'explore.json'), `${JSON.stringify(results, null, 2)}\n`);
  const md = [
    `# Explore benchmark: star schema, history, graph, edit and diff on ${ROWS.toLocaleString()} fact rows`,
    '',
    `${results.date}, ${JSON.stringify(results.machine)}, in process (dispatcher). \`npm run bench:explore\`.`,
    '',
    '| measure | figure | target | note |',
    '| --- | --- | --- | --- |',
    ...figures.map((f) => `| ${f.measure} | ${f.ms} ms | ${f.target ?? ''} | ${f.note ?? ''} |`),
    '',
  ].join('\n');
  await writeFile(join(ROOT, 'bench', 'results', 'explore.md'), md);
} finally {
  await rm(work, { recursive: true, force: true });
}

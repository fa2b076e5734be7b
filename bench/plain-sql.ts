// Benchmark worker: the yardstick behind issue 2's 60 s target ("plain DuckDB SQL doing a simplified version
// of the same work takes about 26 s here"), so the pipeline can be compared with it in the same run rather
// than with a figure taken on a machine that has since slowed down. The same source days, through the same
// layers, with the example's cleaning macros, in one transaction a day, and nothing a serious engine adds:
// no data-quality tests, no quarantine, no run records, no repeats across dates, no re-run safety, no SCD1
// change log; keywords match a title by equal slug only (no TF-IDF search); the bridge keeps pairs without
// effective dates; dimensions are upserted in place. Prints one JSON line: wall time and time per step.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { applyWriteSettings, type Db, literal, openDb } from '../engine/db/duckdb.ts';
import { PARTITION_WRITE_OPTIONS } from '../engine/lake/partitions.ts';
import { SLUG_SQL_MACRO } from '../engine/normalize/slug.ts';
import { loadMacros } from '../engine/project/macros.ts';
import { dayFolder, listSourceDates } from '../engine/sources/daily-parquet.ts';
import { statementTimer } from './measure.ts';

const { values } = parseArgs({
  options: {
    source: { type: 'string' },
    catalog: { type: 'string' },
    work: { type: 'string' },
    example: {
      type: 'string',
      default: join(import.meta.dirname, '..', 'engine', 'examples', 'customer-search'),
    },
  },
});
if (!values.source || !values.catalog || !values.work)
  throw new Error('--source, --catalog and --work are required');
const { source, catalog, work } = values as Record<'source' | 'catalog' | 'work', string>;
await rm(work, { recursive: true, force: true });
for (const layer of ['bronze', 'silver', 'plans'])
  await mkdir(join(work, 'lake', layer), { recursive: true });

const db = await openDb(join(work, 'plain.duckdb'));
await applyWriteSettings(db);
await db.run(SLUG_SQL_MACRO);
await loadMacros(db, values.example!);

const { ms: msByStep, run: step } = statementTimer(db);
// The generator's layout, as the example's lakehouse.yaml reads it.
const DAY_FOLDERS = '%Y%m%d';
const lake = (layer: string, day: string) => literal(join(work, 'lake', layer, `${day}.parquet`));

const started = performance.now();
await createTables(db);
await step(
  'catalog',
  `INSERT INTO titles SELECT DISTINCT ON (slugify(title)) slugify(title), title,
     list_transform(string_split(genres, ';'), g -> trim(g))
   FROM read_csv(${literal(catalog)}, header = true, all_varchar = true) WHERE slugify(title) IS NOT NULL`,
);
const days = await listSourceDates(source, DAY_FOLDERS);
for (const day of days) {
  await db.run('BEGIN');
  await step(
    'bronze',
    `COPY (SELECT * EXCLUDE (filename), filename AS source_file, DATE ${literal(day)} AS etl_date
           FROM read_parquet(${literal(join(source, dayFolder(DAY_FOLDERS, day), '*.parquet'))}, filename = true))
     TO ${lake('bronze', day)} (${PARTITION_WRITE_OPTIONS})`,
  );
  await db.run(`CREATE OR REPLACE TEMP VIEW bronze AS SELECT * FROM read_parquet(${lake('bronze', day)})`);
  await step(
    'keywords',
    `INSERT INTO keywords
     SELECT k.keyword, k.slug, t.title, t.genres
     FROM (SELECT keyword, slugify(keyword) AS slug
           FROM (SELECT DISTINCT keyword FROM bronze WHERE keyword IS NOT NULL) ANTI JOIN keywords USING (keyword)) AS k
     LEFT JOIN titles AS t ON t.slug = k.slug`,
  );
  // Each time parsed once; repeats looked for only among the few event ids that occur twice.
  await step(
    'silver',
    `COPY (
       WITH parsed AS (
         SELECT b.* EXCLUDE (userPlansMap), trim(b.eventID) AS event_id, parse_event_ts(b.datetime) AS ts FROM bronze AS b
         WHERE nullif(trim(b.eventID), '') IS NOT NULL),
       kept AS (SELECT * FROM parsed WHERE ts IS NOT NULL),
       repeated AS (SELECT event_id FROM kept GROUP BY event_id HAVING count(*) > 1),
       once AS (
         SELECT * FROM kept WHERE event_id NOT IN (SELECT event_id FROM repeated)
         UNION ALL
         SELECT * FROM (SELECT DISTINCT ON (event_id) * FROM kept WHERE event_id IN (SELECT event_id FROM repeated)
                        ORDER BY event_id, ts))
       SELECT b.event_id, b.ts AS datetime_log, date_key(b.ts) AS date_key, clean_user_id(b.user_id) AS user_id,
              lower(trim(b.category)) AS category, lower(trim(b.proxy_isp)) AS proxy_isp,
              lower(trim(b.platform)) AS platform, lower(trim(b.networkType)) AS network_type,
              lower(trim(b.action)) AS action, trim(b.keyword) AS original_keyword, k.slug AS keyword_slug,
              coalesce(k.title, 'not_matched') AS keyword_normalized,
              array_to_string(k.genres, ';') AS keyword_category, b.etl_date, b.source_file
       FROM once AS b LEFT JOIN keywords AS k ON k.keyword = b.keyword)
     TO ${lake('silver', day)} (${PARTITION_WRITE_OPTIONS})`,
  );
  await db.run(`CREATE OR REPLACE TEMP VIEW silver AS SELECT * FROM read_parquet(${lake('silver', day)})`);
  await step(
    'user_plans',
    `COPY (
       SELECT DISTINCT clean_user_id(user_id) AS user_id, plan_name(entry) AS plan_name, plan_type(entry) AS plan_type,
              etl_date AS date
       FROM (SELECT user_id, unnest(userPlansMap) AS entry, etl_date FROM bronze)
       WHERE plan_name(entry) IS NOT NULL)
     TO ${lake('plans', day)} (${PARTITION_WRITE_OPTIONS})`,
  );
  await db.run(`CREATE OR REPLACE TEMP VIEW plans AS SELECT * FROM read_parquet(${lake('plans', day)})`);
  await gold(day);
  await db.run('COMMIT');
}
await step('checkpoint', 'CHECKPOINT');
const wallMs = performance.now() - started;
db.close();
process.stdout.write(`${JSON.stringify({ wallMs, msByStep, days: days.length })}\n`);

async function createTables(db: Db): Promise<void> {
  await db.run(`
    CREATE TABLE titles (slug VARCHAR PRIMARY KEY, title VARCHAR, genres VARCHAR[]);
    CREATE TABLE keywords (keyword VARCHAR, slug VARCHAR, title VARCHAR, genres VARCHAR[]);
    CREATE TABLE dim_platform (platform_key INTEGER, platform VARCHAR PRIMARY KEY, device_type VARCHAR);
    CREATE TABLE dim_network (network_key INTEGER, proxy_isp VARCHAR, network_type VARCHAR, isp_group VARCHAR);
    CREATE TABLE dim_category (category_key INTEGER, category_slug VARCHAR PRIMARY KEY, category_name VARCHAR);
    CREATE TABLE dim_subscription (subscription_key INTEGER, plan_name VARCHAR, plan_type VARCHAR, is_paid BOOLEAN);
    CREATE TABLE dim_date (date_key INTEGER PRIMARY KEY, date DATE, year INTEGER, month INTEGER, day INTEGER);
    CREATE TABLE dim_user (user_id VARCHAR, user_type VARCHAR, first_search_dt TIMESTAMP, last_search_dt TIMESTAMP);
    CREATE TABLE dim_user_history (user_version_key BIGINT, user_id VARCHAR, plan_set VARCHAR, plan_count INTEGER,
      valid_from DATE, valid_to DATE, is_current BOOLEAN);
    CREATE TABLE bridge_user_plan (user_id VARCHAR, subscription_key INTEGER, first_effective_date DATE);
    CREATE TABLE fact_customer_search (event_id VARCHAR, datetime_log TIMESTAMP, date_key INTEGER, user_id VARCHAR,
      network_key INTEGER, platform_key INTEGER, main_keyword_category INTEGER, keyword VARCHAR,
      keyword_normalized VARCHAR, action VARCHAR, etl_date DATE);`);
}

/** The day's gold: new members appended to the small dimensions, users upserted, plan history, facts. */
async function gold(day: string): Promise<void> {
  const nextKey = (table: string, key: string) =>
    `(SELECT coalesce(max(${key}), 0) FROM ${table}) + row_number() OVER ()`;
  await step(
    'dim_platform',
    `INSERT INTO dim_platform SELECT ${nextKey('dim_platform', 'platform_key')}, platform, device_type(platform)
     FROM (SELECT DISTINCT platform FROM silver WHERE platform IS NOT NULL) ANTI JOIN dim_platform USING (platform)`,
  );
  await step(
    'dim_network',
    `INSERT INTO dim_network SELECT ${nextKey('dim_network', 'network_key')}, proxy_isp, network_type,
       isp_group(proxy_isp)
     FROM (SELECT DISTINCT proxy_isp, network_group(network_type) AS network_type FROM silver) AS s
     ANTI JOIN dim_network AS d ON d.proxy_isp IS NOT DISTINCT FROM s.proxy_isp AND d.network_type = s.network_type`,
  );
  await step(
    'dim_category',
    `INSERT INTO dim_category SELECT ${nextKey('dim_category', 'category_key')}, slug, name
     FROM (SELECT slugify(g) AS slug, min(g) AS name
           FROM (SELECT DISTINCT unnest(string_split(keyword_category, ';')) AS g
                 FROM (SELECT DISTINCT keyword_category FROM silver))
           WHERE slugify(g) IS NOT NULL GROUP BY 1) ANTI JOIN dim_category AS d ON d.category_slug = slug`,
  );
  await step(
    'dim_subscription',
    `INSERT INTO dim_subscription SELECT ${nextKey('dim_subscription', 'subscription_key')}, plan_name, plan_type,
       plan_type <> 'giftcode'
     FROM (SELECT DISTINCT plan_name, plan_type FROM plans) AS p
     ANTI JOIN dim_subscription AS d ON d.plan_name = p.plan_name AND d.plan_type = p.plan_type`,
  );
  await step(
    'dim_date',
    `INSERT INTO dim_date SELECT DISTINCT date_key, datetime_log::DATE, year(datetime_log), month(datetime_log),
       day(datetime_log) FROM silver WHERE date_key IS NOT NULL ON CONFLICT DO NOTHING`,
  );
  await step(
    'dim_user',
    `CREATE OR REPLACE TEMP TABLE users AS
       SELECT user_id, CASE WHEN user_id = guest_user_id() THEN 'guest' ELSE 'registered' END AS user_type,
              min(datetime_log) AS first_search_dt, max(datetime_log) AS last_search_dt
       FROM silver GROUP BY user_id;
     UPDATE dim_user AS d SET first_search_dt = least(d.first_search_dt, u.first_search_dt),
       last_search_dt = greatest(d.last_search_dt, u.last_search_dt)
     FROM users AS u WHERE d.user_id = u.user_id;
     INSERT INTO dim_user SELECT * FROM users ANTI JOIN dim_user USING (user_id)`,
  );
  await step(
    'dim_user_history',
    `CREATE OR REPLACE TEMP TABLE plan_sets AS
       SELECT u.user_id, coalesce(p.plan_set, '') AS plan_set, coalesce(p.plan_count, 0)::INTEGER AS plan_count
       FROM (SELECT DISTINCT user_id FROM silver WHERE user_id <> guest_user_id()) AS u
       LEFT JOIN (SELECT user_id, len(list_distinct(list(plan_name || ':' || plan_type))) AS plan_count,
                         array_to_string(list_sort(list_distinct(list(plan_name || ':' || plan_type))), ', ') AS plan_set
                  FROM plans GROUP BY user_id) AS p USING (user_id);
     CREATE OR REPLACE TEMP TABLE changed AS
       SELECT s.* FROM plan_sets AS s LEFT JOIN dim_user_history AS h ON h.user_id = s.user_id AND h.is_current
       WHERE h.plan_set IS DISTINCT FROM s.plan_set;
     UPDATE dim_user_history AS h SET valid_to = DATE ${literal(day)}, is_current = false
       FROM changed AS c WHERE h.user_id = c.user_id AND h.is_current;
     INSERT INTO dim_user_history SELECT (SELECT coalesce(max(user_version_key), 0) FROM dim_user_history)
       + row_number() OVER (), user_id, plan_set, plan_count, DATE ${literal(day)}, NULL, true FROM changed`,
  );
  await step(
    'bridge_user_plan',
    `INSERT INTO bridge_user_plan
     SELECT DISTINCT p.user_id, s.subscription_key, DATE ${literal(day)}
     FROM plans AS p JOIN dim_subscription AS s USING (plan_name, plan_type)
     ANTI JOIN bridge_user_plan AS b ON b.user_id = p.user_id AND b.subscription_key = s.subscription_key`,
  );
  await step(
    'fact',
    `INSERT INTO fact_customer_search
     SELECT s.event_id, s.datetime_log, s.date_key, s.user_id, n.network_key, p.platform_key,
            coalesce(c.category_key, 0), s.original_keyword, s.keyword_normalized, s.action, s.etl_date
     FROM silver AS s
     LEFT JOIN dim_platform AS p ON p.platform = s.platform
     LEFT JOIN dim_network AS n ON n.proxy_isp IS NOT DISTINCT FROM s.proxy_isp AND n.network_type = network_group(s.network_type)
     LEFT JOIN (SELECT DISTINCT keyword_category, slugify(split_part(keyword_category, ';', 1)) AS slug FROM silver) AS g
       ON g.keyword_category IS NOT DISTINCT FROM s.keyword_category
     LEFT JOIN dim_category AS c ON c.category_slug = g.slug`,
  );
}

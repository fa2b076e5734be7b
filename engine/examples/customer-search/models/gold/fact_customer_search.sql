/* config
materialized: append
role: fact
unique_key: event_id
description: One row per search event, appended per date; re-running a date replaces its events, never duplicates them. Unknown members point at key 0.
tests:
  - unique: event_id
  - not_null: [event_id, datetime_log, date_key, user_id, network_key, platform_key, main_keyword_category]
  - relationships: {column: date_key, to: gold.dim_date, field: date_key}
  - relationships: {column: user_id, to: gold.dim_user, field: user_id}
  - relationships: {column: network_key, to: gold.dim_network, field: network_key}
  - relationships: {column: platform_key, to: gold.dim_platform, field: platform_key}
  - relationships: {column: main_keyword_category, to: gold.dim_category, field: category_key}
  - relationships: {column: sub1_keyword_category, to: gold.dim_category, field: category_key}
  - relationships: {column: sub2_keyword_category, to: gold.dim_category, field: category_key}
  - relationships: {column: sub3_keyword_category, to: gold.dim_category, field: category_key}
*/
WITH events AS (
  SELECT *
  FROM silver.customer_search
  WHERE etl_date = getvariable('etl_date')
),
-- The category keys of each genre list seen today: a few hundred lists a day, so the lists are split and
-- looked up once each, and every event joins one small table instead of four. dim_category holds one row
-- per slug, so "drama" finds the key of "Drama". One lookup over the split genres rather than one per
-- position: category_slug's Unicode pattern costs ~3 ms to compile at each place it is written. Inlined:
-- DuckDB knows no size for a materialized CTE and built its join tables on the events (3x slower).
category_keys AS NOT MATERIALIZED (
  SELECT
    g.keyword_category,
    max(c.category_key) FILTER (WHERE g.position = 1) AS main_keyword_category,
    max(c.category_key) FILTER (WHERE g.position = 2) AS sub1_keyword_category,
    max(c.category_key) FILTER (WHERE g.position = 3) AS sub2_keyword_category,
    max(c.category_key) FILTER (WHERE g.position = 4) AS sub3_keyword_category
  FROM (
    SELECT keyword_category, unnest(genres[:4]) AS genre, generate_subscripts(genres[:4], 1) AS position
    FROM (
      SELECT keyword_category, string_split(keyword_category, ';') AS genres
      FROM (
        SELECT DISTINCT keyword_category
        FROM silver.customer_search
        WHERE etl_date = getvariable('etl_date') AND keyword_category IS NOT NULL
      )
    )
  ) AS g
  LEFT JOIN gold.dim_category AS c ON c.category_slug = category_slug(trim(g.genre))
  GROUP BY g.keyword_category
)
SELECT
  e.event_id,
  e.datetime_log,
  e.date_key,
  e.user_id,
  CASE WHEN e.keyword_normalized <> 'not_matched' THEN e.keyword_normalized ELSE e.original_keyword END AS keyword,
  CASE WHEN e.keyword_normalized <> 'not_matched' THEN e.keyword_normalized_slug ELSE e.original_keyword_slug END AS keyword_slug,
  e.category,
  e.action,
  coalesce(n.network_key, 0) AS network_key,
  coalesce(p.platform_key, 0) AS platform_key,
  coalesce(k.main_keyword_category, 0) AS main_keyword_category,
  coalesce(k.sub1_keyword_category, 0) AS sub1_keyword_category,
  coalesce(k.sub2_keyword_category, 0) AS sub2_keyword_category,
  coalesce(k.sub3_keyword_category, 0) AS sub3_keyword_category
FROM events AS e
LEFT JOIN gold.dim_network AS n
  ON n.proxy_isp IS NOT DISTINCT FROM e.proxy_isp AND n.network_type = network_group(e.network_type)
LEFT JOIN gold.dim_platform AS p ON p.platform = e.platform
LEFT JOIN category_keys AS k ON k.keyword_category = e.keyword_category

/* config
materialized: partition
description: Typed and cleaned search events. Unrepairable rows go to quarantine.customer_search with the rule that rejected them; repeated event ids are removed and counted, also when an earlier date already loaded them.
deduplicate:
  key: event_id
  order_by: datetime_log, source_file
  # An event re-sent by the next deliveries is dropped and counted: the two dates before are checked.
  across_dates: 2
reconcile_with: bronze.customer_search
tests:
  - not_null: [event_id, datetime_log, date_key, user_id]
  - unique: event_id
  - accepted_values:
      column: category
      values: [enter, quit]
    severity: warn
*/
WITH raw AS (
  SELECT b.*, parse_event_ts(b.datetime) AS parsed_ts
  FROM bronze.customer_search AS b
  WHERE b.etl_date = getvariable('etl_date')
)
SELECT
  nullif(trim(r.eventID), '') AS event_id,
  r.parsed_ts AS datetime_log,
  date_key(r.parsed_ts) AS date_key,
  clean_user_id(r.user_id) AS user_id,
  lower(trim(r.category)) AS category,
  lower(trim(r.proxy_isp)) AS proxy_isp,
  lower(trim(r.platform)) AS platform,
  lower(trim(r.networkType)) AS network_type,
  lower(trim(r.action)) AS action,
  clean_keyword(r.keyword, k.keyword_normalized) AS original_keyword,
  k.keyword_slug AS original_keyword_slug,
  k.keyword_normalized,
  k.keyword_normalized_slug,
  CASE WHEN k.matched THEN array_to_string(k.genres, ';') END AS keyword_category,
  k.score AS match_score,
  r.etl_date,
  r.source_file,
  CASE
    WHEN nullif(trim(r.eventID), '') IS NULL THEN 'event_id_missing'
    WHEN r.parsed_ts IS NULL THEN 'datetime_unparseable: ' || coalesce('"' || r.datetime || '"', 'NULL')
    -- A year off by centuries (0001; 9999 read as Buddhist era) would stretch dim_date over millennia.
    WHEN NOT isfinite(r.parsed_ts) OR abs(datediff('day', r.etl_date, r.parsed_ts)) > 366 THEN 'datetime_out_of_range: "' || r.datetime || '"'
    WHEN NOT regexp_full_match(clean_user_id(r.user_id), '[0-9]+|' || guest_user_id()) THEN 'user_id_not_numeric: "' || r.user_id || '"'
  END AS _quarantine_reason
FROM raw AS r
LEFT JOIN silver.keyword_match AS k ON k.keyword = r.keyword

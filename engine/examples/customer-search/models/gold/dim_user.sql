/* config
materialized: scd1
role: dimension
unique_key: user_id
merge:
  first_search_dt: least
  last_search_dt: greatest
description: SCD type 1. first_search_dt keeps the earliest search ever, last_search_dt the latest, compared as timestamps.
tests:
  - unique: user_id
  - not_null: [user_id, user_type, first_search_dt, last_search_dt]
  - accepted_values:
      column: user_type
      values: [guest, registered]
*/
SELECT
  user_id,
  CASE WHEN user_id = guest_user_id() THEN 'guest' ELSE 'registered' END AS user_type,
  min(datetime_log) AS first_search_dt,
  max(datetime_log) AS last_search_dt
FROM silver.customer_search
WHERE etl_date = getvariable('etl_date')
GROUP BY ALL

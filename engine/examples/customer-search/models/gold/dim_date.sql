/* config
materialized: table
role: dimension
description: Calendar from vars dim_date_start..dim_date_end, widened to cover every event date seen.
tests:
  - unique: date_key
  - not_null: [date_key, date]
*/
WITH bounds AS (
  SELECT
    least(getvariable('dim_date_start')::DATE, min(datetime_log)::DATE) AS first_day,
    greatest(getvariable('dim_date_end')::DATE, max(datetime_log)::DATE) AS last_day
  FROM silver.customer_search
)
SELECT
  date_key(d) AS date_key,
  d::DATE AS date,
  year(d)::INTEGER AS year,
  quarter(d)::INTEGER AS quarter,
  month(d)::INTEGER AS month,
  day(d)::INTEGER AS day,
  isodow(d)::INTEGER AS day_of_week,
  isodow(d) >= 6 AS is_weekend
FROM bounds, range(bounds.first_day, bounds.last_day + INTERVAL 1 DAY, INTERVAL 1 DAY) AS t(d)

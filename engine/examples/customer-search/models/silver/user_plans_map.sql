/* config
materialized: partition
description: One row per (user, plan) per day, from the userPlansMap entries 'Plan Name:type' of the day's events.
tests:
  - not_null: [user_id, plan_name, plan_type, date]
  - unique: [user_id, plan_name, plan_type]
*/
-- Each event's plan list, one row per 'Plan Name:type' entry.
WITH entries AS (
  SELECT trim(eventID) AS event_id, unnest(userPlansMap) AS entry
  FROM bronze.customer_search
  WHERE etl_date = getvariable('etl_date')
),
-- A few dozen distinct entries a day: parse those, not every event's (the regular expressions were a
-- third of this model's time).
plans AS (
  SELECT entry, plan_name(entry) AS plan_name, plan_type(entry) AS plan_type
  FROM (SELECT DISTINCT entry FROM entries)
  WHERE plan_name(entry) IS NOT NULL
)
SELECT
  s.user_id,
  p.plan_name,
  p.plan_type,
  max(s.datetime_log) AS search_datetime,
  getvariable('etl_date')::DATE AS date,
  getvariable('etl_date')::DATE AS etl_date
FROM silver.customer_search AS s
JOIN entries AS e ON e.event_id = s.event_id
JOIN plans AS p ON p.entry = e.entry
WHERE s.etl_date = getvariable('etl_date')
GROUP BY ALL

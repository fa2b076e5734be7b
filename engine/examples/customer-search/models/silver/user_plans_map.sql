/* config
materialized: partition
description: One row per (user, plan) per day, from the userPlansMap entries 'Plan Name:type' of the day's events.
tests:
  - not_null: [user_id, plan_name, plan_type, date]
  - unique: [user_id, plan_name, plan_type]
*/
SELECT
  s.user_id,
  plan_name(p.entry) AS plan_name,
  plan_type(p.entry) AS plan_type,
  max(s.datetime_log) AS search_datetime,
  getvariable('etl_date')::DATE AS date,
  getvariable('etl_date')::DATE AS etl_date
FROM silver.customer_search AS s
JOIN (
  SELECT trim(eventID) AS event_id, unnest(userPlansMap) AS entry
  FROM bronze.customer_search
  WHERE etl_date = getvariable('etl_date')
) AS p ON p.event_id = s.event_id
WHERE s.etl_date = getvariable('etl_date') AND plan_name(p.entry) IS NOT NULL
GROUP BY ALL

/* config
materialized: scd2
role: dimension
unique_key: user_id
surrogate_key: user_version_key
tracked: [plan_set]
description: SCD type 2 view of each registered user's plan set; a new version whenever the set changes.
tests:
  - scd_invariants: true
*/
-- Plans are listed per user first (the day's plan rows: about 175,000 on a day of a million events), then
-- given to every registered user seen that day, with an empty set for those without a plan.
SELECT
  u.user_id,
  coalesce(plans.plan_set, '') AS plan_set,
  coalesce(plans.plan_count, 0)::INTEGER AS plan_count
FROM (
  SELECT DISTINCT user_id
  FROM silver.customer_search
  WHERE etl_date = getvariable('etl_date') AND user_id <> guest_user_id()
) AS u
LEFT JOIN (
  SELECT
    p.user_id,
    array_to_string(list_sort(list_distinct(list(p.plan_name || ':' || p.plan_type))), ', ') AS plan_set,
    len(list_distinct(list(p.plan_name || ':' || p.plan_type))) AS plan_count
  FROM silver.user_plans_map AS p
  WHERE p.etl_date = getvariable('etl_date')
  GROUP BY p.user_id
) AS plans ON plans.user_id = u.user_id

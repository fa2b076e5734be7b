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
SELECT
  u.user_id,
  coalesce(array_to_string(list_sort(list_distinct(list(p.plan_name || ':' || p.plan_type))), ', '), '') AS plan_set,
  coalesce(len(list_distinct(list(p.plan_name || ':' || p.plan_type))), 0)::INTEGER AS plan_count
FROM (
  SELECT DISTINCT user_id
  FROM silver.customer_search
  WHERE etl_date = getvariable('etl_date') AND user_id <> guest_user_id()
) AS u
LEFT JOIN silver.user_plans_map AS p ON p.user_id = u.user_id AND p.etl_date = getvariable('etl_date')
GROUP BY u.user_id

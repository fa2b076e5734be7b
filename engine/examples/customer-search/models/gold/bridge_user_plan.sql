/* config
materialized: bridge
role: bridge
bridge:
  entity: user_id
  member: subscription_key
surrogate_key: user_plan_key
description: Effective-dated user-plan bridge. A plan missing from the plan set of a user seen that day closes; a user not seen keeps every plan open; a plan that comes back opens a new row.
tests:
  - scd_invariants: true
  - relationships:
      column: user_id
      to: gold.dim_user
      field: user_id
  - relationships:
      column: subscription_key
      to: gold.dim_subscription
      field: subscription_key
*/
SELECT u.user_id, s.subscription_key
FROM (
  SELECT DISTINCT user_id
  FROM silver.customer_search
  WHERE etl_date = getvariable('etl_date') AND user_id <> guest_user_id()
) AS u
LEFT JOIN silver.user_plans_map AS p ON p.user_id = u.user_id AND p.etl_date = getvariable('etl_date')
LEFT JOIN gold.dim_subscription AS s ON s.plan_name = p.plan_name AND s.plan_type = p.plan_type

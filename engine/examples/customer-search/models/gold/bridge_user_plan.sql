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
-- A plan dim_subscription does not hold yet (the bridge run alone, with --select) must not read as
-- "no plan": that would close the user's plans and leave the new one out.
SELECT
  u.user_id,
  CASE
    WHEN p.plan_name IS NOT NULL AND s.subscription_key IS NULL THEN error(
      'plan ''' || p.plan_name || ':' || p.plan_type || ''' of user ' || u.user_id || ' is not in ' ||
      'gold.dim_subscription yet: run gold.dim_subscription for ' || getvariable('etl_date') ||
      ' first, or select both models')
    ELSE s.subscription_key
  END AS subscription_key
FROM (
  SELECT DISTINCT user_id
  FROM silver.customer_search
  WHERE etl_date = getvariable('etl_date') AND user_id <> guest_user_id()
) AS u
LEFT JOIN silver.user_plans_map AS p ON p.user_id = u.user_id AND p.etl_date = getvariable('etl_date')
LEFT JOIN gold.dim_subscription AS s ON s.plan_name = p.plan_name AND s.plan_type = p.plan_type

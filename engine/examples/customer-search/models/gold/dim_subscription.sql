/* config
materialized: scd1
role: dimension
unique_key: [plan_name, plan_type]
surrogate_key: subscription_key
tests:
  - unique: [plan_name, plan_type]
  - not_null: [plan_name, plan_type, is_paid]
*/
SELECT DISTINCT plan_name, plan_type, plan_type <> 'giftcode' AS is_paid
FROM silver.user_plans_map
WHERE etl_date = getvariable('etl_date')

/* config
materialized: scd1
role: dimension
unique_key: platform
surrogate_key: platform_key
unknown_member:
  platform: null
  device_type: unknown
tests:
  # unique skips NULL keys, so it would not see a second NULL platform beside the unknown member's:
  # the SELECT keeps events with no platform out (facts point them at the unknown member).
  - unique: platform
  - not_null: device_type
  - accepted_values:
      column: device_type
      values: [mobile, smarttv, ottbox, web, others, unknown]
*/
SELECT DISTINCT platform, device_type(platform) AS device_type
FROM silver.customer_search
WHERE etl_date = getvariable('etl_date') AND platform IS NOT NULL

/* config
materialized: scd1
role: dimension
unique_key: [proxy_isp, network_type]
surrogate_key: network_key
unknown_member:
  proxy_isp: null
  network_type: others
  isp_group: unknown
tests:
  # A NULL proxy_isp is a value here: unique skips only a key NULL in both columns.
  - unique: [proxy_isp, network_type]
  - accepted_values:
      column: network_type
      values: [wifi, ethernet, cellular, others]
  - accepted_values:
      column: isp_group
      values: [local, unknown]
*/
-- An event with no ISP keeps its network type (ISP group unknown); with no ISP and no known network it
-- is the unknown member itself (key 0), which the dimension already holds.
SELECT DISTINCT proxy_isp, network_group(network_type) AS network_type, isp_group(proxy_isp) AS isp_group
FROM silver.customer_search
WHERE etl_date = getvariable('etl_date')
  AND NOT (proxy_isp IS NULL AND network_group(network_type) = 'others')

/* config
materialized: partition
description: Raw search events exactly as received (no cleaning), plus ingestion metadata. One partition per ETL date; all days are kept.
tests:
  - not_null: [source_file, etl_date]
*/
SELECT
  * EXCLUDE (_source_file),
  _source_file AS source_file,
  getvariable('etl_date')::DATE AS etl_date,
  now()::TIMESTAMP AS loaded_at
FROM source.customer_search_log

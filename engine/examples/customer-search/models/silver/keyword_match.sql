/* config
materialized: keyword_match
catalog: source.title_catalog
description: Each distinct search keyword matched once against the title catalog (TF-IDF over character 2-3-grams, cosine, accepted at >= 0.5); cached across runs.
*/
SELECT DISTINCT keyword
FROM bronze.customer_search
WHERE etl_date = getvariable('etl_date')

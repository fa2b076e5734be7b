/* config
materialized: scd1
role: dimension
unique_key: category_slug
# The first spelling in byte order of every date so far: a date that sees only "drama" keeps "Drama".
merge:
  category_name: least
surrogate_key: category_key
unknown_member:
  category_name: unknown
  category_slug: unknown
tests:
  - unique: category_slug
  - not_null: [category_name, category_slug]
*/
-- One row per slug: genres spelt apart only by case or punctuation ("Drama", "drama", "Sci-Fi",
-- "Sci Fi") are one category, named by the first spelling in byte order (merge: least keeps it so
-- across dates, whichever dates run last). A genre named "Unknown", or a placeholder with no letter or
-- digit ("-", "?"), is the unknown member (key 0): the fact finds no other category for it.
SELECT min(genre) AS category_name, slug AS category_slug
FROM (
  -- A few hundred distinct genre lists a day: split those, not every event's. category_slug once (its
  -- Unicode pattern costs ~3 ms to compile at each place it is written).
  SELECT genre, category_slug(genre) AS slug
  FROM (
    SELECT trim(unnest(string_split(keyword_category, ';'))) AS genre
    FROM (
      SELECT DISTINCT keyword_category
      FROM silver.customer_search
      WHERE etl_date = getvariable('etl_date') AND keyword_category IS NOT NULL
    )
  )
)
WHERE slug <> 'unknown'
GROUP BY slug

-- Cleaning and mapping rules of the customer-search example, as DuckDB macros so every model shares
-- one definition and each rule can be tested on its own (test/rules/cleaning-rules.test.ts).

-- Buddhist-era years (2565) are Gregorian + 543; the rest of the string is left as it is.
CREATE OR REPLACE TEMP MACRO be_year_to_ce(t) AS
  CASE WHEN try_cast(substr(t, 1, 4) AS INTEGER) >= 2400
       THEN lpad((substr(t, 1, 4)::INTEGER - 543)::VARCHAR, 4, '0') || substr(t, 5)
       ELSE t END;

-- 12-hour times carry a Vietnamese or English marker: CH (chiều) = PM, SA (sáng) = AM.
CREATE OR REPLACE TEMP MACRO parse_wall_clock(t) AS
  CASE WHEN regexp_matches(t, ' (CH|PM|SA|AM)$', 'i')
       THEN try_strptime(regexp_replace(regexp_replace(t, ' CH$', ' PM', 'i'), ' SA$', ' AM', 'i'),
                         ['%Y-%m-%d %I:%M:%S.%f %p', '%Y-%m-%d %I:%M:%S %p'])
       ELSE try_cast(t AS TIMESTAMP) END;

-- Event time as a local wall-clock TIMESTAMP (no zone, never shifted); NULL when it cannot be parsed.
-- Most values are plain ISO and cast directly; only the rest pay for the regular expressions (a CASE,
-- unlike coalesce, evaluates its ELSE only on the rows that reach it: 4x faster on a million rows).
-- The fast path is kept to years before 2400 so Buddhist-era years (2565) take the slow one.
CREATE OR REPLACE TEMP MACRO parse_event_ts(s) AS
  CASE WHEN s < '24' AND try_cast(s AS TIMESTAMP) IS NOT NULL THEN try_cast(s AS TIMESTAMP)
       ELSE parse_wall_clock(be_year_to_ce(regexp_replace(trim(s), '\s+', ' ', 'g'))) END;

-- A keyword as typed, without the spaces around it; NULL when the keyword matcher called it blank
-- (`answer`, its keyword_normalized, is NULL then), so silver and the matcher agree on what is no
-- keyword: a tab or a zero-width space alone is blank to it, but not to DuckDB's trim(). Trimming those
-- characters here instead cost 4x a plain trim() on every event (26-character set).
CREATE OR REPLACE TEMP MACRO clean_keyword(k, answer) AS CASE WHEN answer IS NOT NULL THEN trim(k) END;

-- Guests have no user_id; they share this placeholder, which also exists in dim_user.
CREATE OR REPLACE TEMP MACRO guest_user_id() AS 'guest';

-- user_id stays a string: leading zeros are significant ('06029400').
CREATE OR REPLACE TEMP MACRO clean_user_id(u) AS coalesce(nullif(trim(u), ''), guest_user_id());

CREATE OR REPLACE TEMP MACRO device_type(platform) AS
  CASE WHEN platform IS NULL THEN 'unknown'
       WHEN lower(platform) IN ('android', 'ios') THEN 'mobile'
       WHEN lower(platform) LIKE '%smart%' THEN 'smarttv'
       WHEN lower(platform) LIKE '%ottbox%' THEN 'ottbox'
       WHEN lower(platform) LIKE '%web%' THEN 'web'
       ELSE 'others' END;

CREATE OR REPLACE TEMP MACRO network_group(network_type) AS
  CASE WHEN lower(trim(network_type)) = 'wifi' THEN 'wifi'
       WHEN lower(trim(network_type)) IN ('ethernet', 'cab') THEN 'ethernet'
       WHEN lower(trim(network_type)) IN ('3g', '4g', '5g', 'wwan') THEN 'cellular'
       ELSE 'others' END;

CREATE OR REPLACE TEMP MACRO isp_group(proxy_isp) AS
  CASE WHEN lower(trim(proxy_isp)) IN ('vnpt', 'viettel', 'fpt', 'spt', 'cmc', 'sctv') THEN 'local' ELSE 'unknown' END;

-- Plan strings look like 'Plan Name:type'; the type is after the last colon. An entry without a
-- colon keeps its name with type 'unknown' rather than being dropped. Split on ':' rather than matched
-- with regular expressions: half the time, on every entry of a day (user_plans_map).
CREATE OR REPLACE TEMP MACRO plan_name(entry) AS
  nullif(trim(CASE WHEN contains(entry, ':') THEN array_to_string(string_split(entry, ':')[:-2], ':') ELSE entry END), '');
CREATE OR REPLACE TEMP MACRO plan_type(entry) AS
  CASE WHEN contains(entry, ':') THEN coalesce(nullif(lower(trim(string_split(entry, ':')[-1])), ''), 'unknown')
       ELSE 'unknown' END;

-- NULL past year 214748, where yyyymmdd outgrows an INTEGER: such a row is quarantined as out of range,
-- and a failed cast would fail the whole date first.
CREATE OR REPLACE TEMP MACRO date_key(ts) AS try_cast(year(ts) * 10000 + month(ts) * 100 + day(ts) AS INTEGER);

-- A genre's category: its slug, or for a genre no slug can spell (CJK, Cyrillic) the genre in lower
-- case, so it keeps a category of its own. NULL for a placeholder with no letter or digit in any script
-- ("-", "?", "★"): such a genre is the unknown member. dim_category and the fact both use this.
CREATE OR REPLACE TEMP MACRO category_slug(genre) AS
  coalesce(slugify(genre), CASE WHEN regexp_matches(genre, '[\p{L}\p{N}]') THEN lower(genre) END);

import { createHash } from 'node:crypto';
import { counted, inNumber } from '../api/counted.ts';
import { describeRun, LakehouseError, runOfDates } from '../api/errors.ts';
import { ident, literal } from '../db/duckdb.ts';
import {
  BLANK_KEYWORD_SQL,
  buildTitleIndex,
  type CatalogTitle,
  matchOfSearch,
  NOT_MATCHED,
  shadowedTitles,
} from '../normalize/matcher.ts';
import { searchSlugsInParallel } from '../normalize/parallel-match.ts';
import { ENGINE_SLUGIFY } from '../project/macros.ts';
import { readFailure } from '../sources/reference-file.ts';
import {
  columnsOf,
  countRows,
  type MaterializeContext,
  type MaterializeOutcome,
  tableExists,
} from './context.ts';

/**
 * The keyword normaliser as a model: its SQL lists keywords; each keyword not yet matched against the
 * current catalog (fingerprint) is cached in the model's table, so every later run and date reuses it.
 * A match depends on the slug alone, so only slugs no cached keyword has are searched, each once, in
 * TypeScript. A changed catalog re-matches.
 */
export async function materializeKeywordMatch(ctx: MaterializeContext): Promise<MaterializeOutcome> {
  // A Parquet stage: inside the date's transaction a temp table is scanned on one thread, and the
  // slugs below are the model's dearest SQL (0.8 s for 195,000 new keywords on one thread).
  await ctx.restage(ctx.etlDate, 'parquet');
  const { db, model, stage, target } = ctx;
  const catalog = model.config.catalog!;
  const stageColumns = (await columnsOf(db, stage)).map((c) => c.name);
  if (!stageColumns.includes('keyword')) {
    throw new LakehouseError(
      'MODEL_INVALID',
      `${model.file}: a keyword_match model must select a column named keyword`,
      {
        file: model.file,
      },
    );
  }
  // A source catalog is bound once per run, so it is read once per run; any other relation may change
  // between dates.
  let loaded = catalog.startsWith('source.') ? ctx.catalogs.get(catalog) : undefined;
  if (!loaded) {
    const read = await loadCatalog(ctx, catalog);
    loaded = {
      titles: read,
      fingerprint: createHash('sha256').update(JSON.stringify(read)).digest('hex').slice(0, 16),
      shadowed: shadowedTitles(read),
    };
    ctx.catalogs.set(catalog, loaded);
  }
  const { titles, fingerprint, shadowed } = loaded;
  const olderCatalog = await datesMatchedByOtherCatalogs(ctx, fingerprint);

  if (!(await tableExists(db, target))) {
    await db.run(
      `CREATE TABLE ${target} (keyword VARCHAR, keyword_slug VARCHAR, keyword_normalized VARCHAR,
         keyword_normalized_slug VARCHAR, genres VARCHAR[], score DOUBLE, matched BOOLEAN, catalog_fingerprint VARCHAR)`,
    );
  }
  const rowsIn = Number(
    (await db.scalar<number | bigint>(`SELECT count(DISTINCT keyword) FROM ${stage}`)) ?? 0,
  );
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __kw_todo AS SELECT keyword, ${ENGINE_SLUGIFY}(keyword) AS keyword_slug
     FROM (SELECT DISTINCT keyword FROM ${stage} WHERE keyword IS NOT NULL) AS k
     WHERE NOT EXISTS (
       SELECT 1 FROM ${target} t WHERE t.keyword = k.keyword AND t.catalog_fingerprint = ${literal(fingerprint)})`,
  );
  const todoCount = await countRows(db, '__kw_todo');
  // Rows matched against an older catalog are replaced; current cache rows stay.
  await db.run(`DELETE FROM ${target} WHERE keyword IN (SELECT keyword FROM __kw_todo)`);
  // A match depends on the keyword's slug alone, and most new spellings (case, accents, spacing) share
  // the slug of a keyword an earlier date matched: copy that answer instead of searching again.
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __kw_by_slug AS
     SELECT DISTINCT ON (keyword_slug) keyword_slug, keyword_normalized, keyword_normalized_slug, genres, score, matched
     FROM ${target}
     WHERE catalog_fingerprint = ${literal(fingerprint)} AND keyword_slug IN (SELECT keyword_slug FROM __kw_todo)
     ORDER BY keyword_slug, keyword`,
  );
  const fromSlug = Number(
    (await db.scalar<number | bigint>(
      `INSERT INTO ${target}
       SELECT t.keyword, t.keyword_slug, c.keyword_normalized, c.keyword_normalized_slug, c.genres, c.score,
              c.matched, ${literal(fingerprint)}
       FROM __kw_todo AS t JOIN __kw_by_slug AS c USING (keyword_slug)`,
    )) ?? 0,
  );
  // What is left has a slug no cached keyword has (or none at all). Variants of one keyword (case,
  // accents, spacing) share a slug: search each slug once, not each keyword (day 1 of the benchmark:
  // 195,687 keywords, 76,730 slugs, and sorted keywords put variants in different threads' chunks).
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __kw_new AS
     SELECT keyword, keyword_slug FROM __kw_todo ANTI JOIN __kw_by_slug USING (keyword_slug)`,
  );
  const newKeywords = Number(
    (await db.scalar<number | bigint>('SELECT count(*) FROM __kw_new WHERE keyword_slug IS NOT NULL')) ?? 0,
  );
  // A keyword with no slug has nothing to compare, score 0, as the matcher says: a search in another
  // script or in symbols only (三十而已, ???) is not matched; a blank one is no keyword (nulls, score and
  // matched too, as a NULL keyword has in silver). Caches written before held NULL answers for the first
  // and score 0, not matched for the second; they are corrected in place. Only slug-less rows are touched.
  const notMatched = literal(NOT_MATCHED);
  // Blank as the matcher says: DuckDB's trim() alone would leave a tab or a no-break space 'not_matched'.
  await db.run(
    `INSERT INTO ${target}
     SELECT keyword, NULL, answer, answer, []::VARCHAR[], CASE WHEN blank THEN NULL ELSE 0 END,
            CASE WHEN blank THEN NULL ELSE false END, ${literal(fingerprint)}
     FROM (SELECT keyword, blank, CASE WHEN blank THEN NULL ELSE ${notMatched} END AS answer
           FROM (SELECT keyword, ${BLANK_KEYWORD_SQL('keyword')} AS blank FROM __kw_new WHERE keyword_slug IS NULL));
     UPDATE ${target} SET keyword_normalized = ${notMatched}, keyword_normalized_slug = ${notMatched}, score = 0,
       matched = false
     WHERE keyword_slug IS NULL AND keyword_normalized IS NULL AND NOT ${BLANK_KEYWORD_SQL('keyword')};
     UPDATE ${target} SET keyword_normalized = NULL, keyword_normalized_slug = NULL, score = NULL, matched = NULL
     WHERE keyword_slug IS NULL AND (keyword_normalized IS NOT NULL OR score IS NOT NULL OR matched IS NOT NULL)
       AND ${BLANK_KEYWORD_SQL('keyword')};`,
  );
  const warnings: string[] = [];
  // Read as one column: row objects cost ~3x more for ~50k slugs a day.
  const slugReader = await db.connection.runAndReadAll(
    `SELECT DISTINCT keyword_slug FROM __kw_new WHERE keyword_slug IS NOT NULL ORDER BY keyword_slug`,
  );
  const slugs = (slugReader.getColumnsJS()[0] ?? []) as string[];
  if (slugs.length > 0) {
    let index = ctx.titleIndexes.get(fingerprint);
    if (!index) {
      index = buildTitleIndex(titles);
      ctx.titleIndexes.set(fingerprint, index);
    }
    // A slug is its own slug, so each answer is the answer for every keyword with that slug.
    const found = await searchSlugsInParallel(index, slugs, {
      onWorkerUnavailable: (error) =>
        warnings.push(
          `the keyword matcher's worker thread could not be used (${error.message}): its share of the ` +
            `${counted(slugs.length, 'new slug')} was searched on the main thread, with the same answers`,
        ),
    });
    // Loaded through an appender: for 76,563 slugs the NDJSON file this replaced took 0.3 s to write and
    // 0.65 s to insert from; appending takes 0.25 s, the insert 0.49 s (genres cast once per slug).
    await db.run(
      `CREATE OR REPLACE TEMP TABLE __kw_found (keyword_slug VARCHAR, keyword_normalized VARCHAR,
         keyword_normalized_slug VARCHAR, genres VARCHAR, score DOUBLE, matched BOOLEAN)`,
    );
    const appender = await db.connection.createAppender('__kw_found', 'main', 'temp');
    try {
      for (let i = 0; i < slugs.length; i += 1) {
        const slug = slugs[i]!;
        const match = matchOfSearch(index, slug, found.title[i]!, found.score[i]!);
        appender.appendVarchar(slug);
        appender.appendVarchar(match.normalized ?? NOT_MATCHED);
        appender.appendVarchar(match.normalizedSlug ?? NOT_MATCHED);
        appender.appendVarchar(JSON.stringify(match.genres));
        appender.appendDouble(match.score);
        appender.appendBoolean(match.matched);
        appender.endRow();
      }
    } finally {
      // Closed on a failure too (the scratch table is dropped with the date's other stages).
      appender.closeSync();
    }
    await db.run(
      `INSERT INTO ${target}
       SELECT n.keyword, n.keyword_slug, m.keyword_normalized, m.keyword_normalized_slug, m.genres, m.score,
              m.matched, ${literal(fingerprint)}
       FROM __kw_new AS n
       JOIN (SELECT * REPLACE (genres::JSON::VARCHAR[] AS genres) FROM __kw_found) AS m USING (keyword_slug)`,
    );
  }
  const cached = rowsIn - todoCount;
  if (cached > 0 || fromSlug > 0) {
    warnings.push(
      `${cached} of ${rowsIn} keywords answered from the cache, ${fromSlug} more from a cached keyword with the same slug`,
    );
  }
  if (newKeywords > slugs.length) {
    warnings.push(`${newKeywords} new keywords searched as ${slugs.length} distinct slugs`);
  }
  // Titles spelt alike (case, accents, spacing) are one title to the matcher: one with other genres
  // is ignored, and the keywords matching it would silently take the other row's genres.
  if (shadowed.length > 0) {
    const shown = (t: { title: string; genres: string[] }) =>
      `"${t.title}" (${t.genres.join(';') || 'no genres'})`;
    const examples = shadowed.slice(0, 3).map((s) => `${shown(s)} is ignored for ${shown(s.kept)}`);
    warnings.push(
      `catalog ${catalog}: ${counted(shadowed.length, 'title')} ${inNumber(shadowed.length, 'shares', 'share')} a slug with another title of other genres, and only ` +
        `one of them is used: ${examples.join(', ')}${shadowed.length > 3 ? ', ...' : ''}; give each title one row, ` +
        "its genres joined by ';'",
    );
  }
  // A header-only catalog runs like any other, and every keyword would come out not_matched unsaid.
  if (titles.length === 0) {
    warnings.push(
      `catalog ${catalog} has no titles, so every keyword is not_matched: give it a row per title and run the date again`,
    );
  }
  if (olderCatalog.length > 0) {
    warnings.push(
      `${counted(olderCatalog.length, 'date')} not in this run (${describeRun(runOfDates(olderCatalog))}) ${inNumber(olderCatalog.length, 'was', 'were')} matched ` +
        `against an earlier version of ${catalog}: their rows keep its answers; run them again so every date ` +
        'uses this catalog',
    );
  }
  return {
    rowsIn,
    rowsOut: todoCount,
    duplicatesRemoved: 0,
    quarantined: 0,
    testRelation: target,
    warnings,
  };
}

/**
 * Records the catalog this date is matched against, and returns the committed dates outside this run
 * matched against another version: silver and gold keep those answers until they run again. Said on
 * the run's first date only, where every later date of the run is still to come.
 */
async function datesMatchedByOtherCatalogs(ctx: MaterializeContext, fingerprint: string): Promise<string[]> {
  const { db, model, etlDate } = ctx;
  const params = { model: model.id, d: etlDate, fingerprint };
  await db.run('DELETE FROM _lakehouse.keyword_catalogs WHERE model = $model AND etl_date = $d::DATE', {
    model: model.id,
    d: etlDate,
  });
  await db.run('INSERT INTO _lakehouse.keyword_catalogs VALUES ($model, $d::DATE, $fingerprint)', params);
  if (ctx.runDates[0] !== etlDate) return [];
  const inRun = new Set(ctx.runDates);
  const other = await db.all<{ d: string }>(
    `SELECT strftime(etl_date, '%Y-%m-%d') AS d FROM _lakehouse.keyword_catalogs
     WHERE model = $model AND fingerprint <> $fingerprint ORDER BY etl_date`,
    { model: model.id, fingerprint },
  );
  return other.map((r) => r.d).filter((d) => !inRun.has(d));
}

async function loadCatalog(ctx: MaterializeContext, relation: string): Promise<CatalogTitle[]> {
  const { db, model } = ctx;
  const rel = relation
    .split('.')
    .map((p) => ident(p))
    .join('.');
  let described: { name: string; type: string }[];
  try {
    described = await columnsOf(db, rel);
  } catch (error) {
    throw new LakehouseError(
      'MODEL_INVALID',
      `${model.file}: catalog ${relation} cannot be read: ${(error as Error).message}`,
    );
  }
  const columns = described.map((c) => c.name);
  for (const required of ['title', 'genres']) {
    if (!columns.includes(required)) {
      throw new LakehouseError(
        'SOURCE_SCHEMA_MISMATCH',
        `Catalog ${relation} has no column "${required}" (found ${columns.join(', ')}). A title catalog needs title, genres and optionally slug.`,
        { relation, column: required },
      );
    }
  }
  const typeOf = (name: string) => described.find((c) => c.name === name)?.type;
  // A JSON file whose field mixes types (a title 1984 beside string titles; genres a list in one row and a
  // string in another) is read as JSON, which casts to VARCHAR with its quotes: unquote it instead.
  const text = (name: string) =>
    typeOf(name) === 'JSON' ? `json_extract_string(${name}, '$')` : `${name}::VARCHAR`;
  const title = text('title');
  const slug = columns.includes('slug') ? text('slug') : 'NULL::VARCHAR';
  // Genres may be a list or a string joined by ';' (or ',' or '|'): both become a list, cleaned alike
  // (trimmed, blanks and NULLs dropped). A title is trimmed: it becomes keyword_normalized, and a
  // hand-edited CSV's stray spaces are no part of it.
  const genreSeparators = "'[;,|]'";
  const genresType = typeOf('genres') ?? '';
  const genreList =
    genresType === 'JSON'
      ? `CASE json_type(genres) WHEN 'ARRAY' THEN from_json(genres, '["VARCHAR"]')
         ELSE regexp_split_to_array(json_extract_string(genres, '$'), ${genreSeparators}) END`
      : genresType === 'JSON[]'
        ? "list_transform(genres, g -> json_extract_string(g, '$'))"
        : genresType.endsWith('[]')
          ? 'genres::VARCHAR[]'
          : `regexp_split_to_array(genres::VARCHAR, ${genreSeparators})`;
  const rows = await db
    .all<{ title: string; slug: string | null; genres: string[] | null }>(
      `SELECT trim(${title}) AS title, ${slug} AS slug,
       list_filter(list_transform(${genreList}, g -> trim(g)), g -> g IS NOT NULL AND g <> '') AS genres
     FROM ${rel} WHERE ${title} IS NOT NULL AND trim(${title}) <> '' ORDER BY ALL`,
    )
    .catch((error: unknown) => {
      // A fault past the rows DuckDB sampled when the source was bound (bad text on line 30,000) is the
      // catalog file's, not the model's: name the file DuckDB gives, and the line and fault.
      const file = /^\s*file = (.+)$/m.exec(error instanceof Error ? error.message : '')?.[1];
      throw new LakehouseError(
        'SOURCE_UNREADABLE',
        `Catalog ${relation} cannot be read: ${file ? `${file}: ` : ''}${readFailure(error)}. Fix the file and run the date again.`,
        { relation, ...(file ? { file } : {}) },
      );
    });
  return rows.map((r) => ({ title: r.title, slug: r.slug, genres: r.genres ?? [] }));
}

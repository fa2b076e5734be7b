import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LakehouseError } from '../api/errors.ts';
import { ident, literal } from '../db/duckdb.ts';
import { buildTitleIndex, type CatalogTitle } from '../normalize/matcher.ts';
import { matchKeywordsInParallel } from '../normalize/parallel-match.ts';
import { ENGINE_SLUGIFY } from '../project/macros.ts';
import {
  columnsOf,
  countRows,
  type MaterializeContext,
  type MaterializeOutcome,
  tableExists,
} from './context.ts';

/**
 * The keyword normaliser as a model: its SQL lists keywords; each keyword not yet matched against the
 * current catalog (fingerprint) is matched once in TypeScript and cached in the model's table, so
 * every later run and date reuses it. Distinct keywords only; a changed catalog re-matches.
 */
export async function materializeKeywordMatch(ctx: MaterializeContext): Promise<MaterializeOutcome> {
  await ctx.restage(ctx.etlDate);
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
    };
    ctx.catalogs.set(catalog, loaded);
  }
  const { titles, fingerprint } = loaded;

  if (!(await tableExists(db, target))) {
    await db.run(
      `CREATE TABLE ${target} (keyword VARCHAR, keyword_slug VARCHAR, keyword_normalized VARCHAR,
         keyword_normalized_slug VARCHAR, genres VARCHAR[], score DOUBLE, matched BOOLEAN, catalog_fingerprint VARCHAR)`,
    );
  }
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __kw_distinct AS SELECT DISTINCT keyword FROM ${stage} WHERE keyword IS NOT NULL`,
  );
  const rowsIn = await countRows(db, '__kw_distinct');
  await db.run(
    `CREATE OR REPLACE TEMP TABLE __kw_todo AS SELECT keyword, ${ENGINE_SLUGIFY}(keyword) AS keyword_slug FROM __kw_distinct k
     WHERE NOT EXISTS (
       SELECT 1 FROM ${target} t WHERE t.keyword = k.keyword AND t.catalog_fingerprint = ${literal(fingerprint)})`,
  );
  const todoCount = await countRows(db, '__kw_todo');
  // Rows matched against an older catalog are replaced; current cache rows stay.
  await db.run(`DELETE FROM ${target} WHERE keyword IN (SELECT keyword FROM __kw_todo)`);
  // A match depends on the keyword's slug alone, and most new spellings (case, accents, spacing) share
  // the slug of a keyword an earlier date matched: copy that answer instead of searching again.
  const fromSlug = Number(
    (await db.scalar<number | bigint>(
      `INSERT INTO ${target}
       SELECT t.keyword, t.keyword_slug, c.keyword_normalized, c.keyword_normalized_slug, c.genres, c.score,
              c.matched, ${literal(fingerprint)}
       FROM __kw_todo AS t
       JOIN (SELECT DISTINCT ON (keyword_slug) * FROM ${target}
             WHERE catalog_fingerprint = ${literal(fingerprint)}
               AND keyword_slug IN (SELECT keyword_slug FROM __kw_todo)
             ORDER BY keyword_slug, keyword) AS c USING (keyword_slug)`,
    )) ?? 0,
  );
  // Read as one column: row objects cost ~3x more for ~50k keywords a day.
  const todoReader = await db.connection.runAndReadAll(
    `SELECT keyword FROM __kw_todo AS t
     WHERE NOT EXISTS (SELECT 1 FROM ${target} AS c WHERE c.keyword = t.keyword) ORDER BY keyword`,
  );
  const todo = (todoReader.getColumnsJS()[0] ?? []) as string[];
  if (todo.length > 0) {
    let index = ctx.titleIndexes.get(fingerprint);
    if (!index) {
      index = buildTitleIndex(titles);
      ctx.titleIndexes.set(fingerprint, index);
    }
    const matches = await matchKeywordsInParallel(index, titles, todo);
    // One bulk load through a temp NDJSON file: far faster than row-by-row inserts.
    const file = join(tmpdir(), `lakehouse-kw-${process.pid}-${Date.now()}.ndjson`);
    await writeFile(
      file,
      `${matches
        .map((m) =>
          JSON.stringify({
            keyword: m.keyword,
            keyword_slug: m.keywordSlug,
            keyword_normalized: m.normalized,
            keyword_normalized_slug: m.normalizedSlug,
            genres: m.genres,
            score: m.score,
            matched: m.matched,
          }),
        )
        .join('\n')}\n`,
    );
    try {
      await db.run(
        `INSERT INTO ${target} BY NAME SELECT *, ${literal(fingerprint)} AS catalog_fingerprint FROM read_json(${literal(file)},
           columns = {keyword: 'VARCHAR', keyword_slug: 'VARCHAR', keyword_normalized: 'VARCHAR',
                      keyword_normalized_slug: 'VARCHAR', genres: 'VARCHAR[]', score: 'DOUBLE', matched: 'BOOLEAN'})`,
      );
    } finally {
      await rm(file, { force: true });
    }
  }
  const cached = rowsIn - todoCount;
  const warnings: string[] = [];
  if (cached > 0 || fromSlug > 0) {
    warnings.push(
      `${cached} of ${rowsIn} keywords answered from the cache, ${fromSlug} more from a cached keyword with the same slug`,
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
  const genresIsList = described.find((c) => c.name === 'genres')?.type.endsWith('[]') ?? false;
  const slug = columns.includes('slug') ? 'slug::VARCHAR' : 'NULL::VARCHAR';
  // Genres may be a list or a string joined by ';' (or ',' or '|'): both become a list.
  const rows = await db.all<{ title: string; slug: string | null; genres: string[] | null }>(
    `SELECT title::VARCHAR AS title, ${slug} AS slug,
       ${genresIsList ? 'genres::VARCHAR[]' : "list_filter(list_transform(regexp_split_to_array(genres::VARCHAR, '[;,|]'), g -> trim(g)), g -> g <> '')"} AS genres
     FROM ${rel} WHERE title IS NOT NULL AND trim(title::VARCHAR) <> '' ORDER BY ALL`,
  );
  return rows.map((r) => ({ title: r.title, slug: r.slug, genres: r.genres ?? [] }));
}

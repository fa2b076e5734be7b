import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { literal, openDb } from '../../engine/db/duckdb.ts';
import { generateSample } from '../../engine/generate/generate.ts';
import { exists } from '../../engine/project/init.ts';
import { lakehouse } from '../helpers/cli.ts';
import { exampleProject, removeDir, tempDir, withEngine } from '../helpers/project.ts';

// The title catalog is a source like any other: CSV with genres joined by ';', or Parquet and JSON with a
// list of genres and an optional slug. All three must give the same matches.
describe('title catalogs in CSV, Parquet and JSON', () => {
  let data: string;
  let csv: string;
  const dirs: string[] = [];

  beforeAll(async () => {
    data = await tempDir();
    const db = await openDb();
    csv = (await generateSample(db, { outDir: data, days: 1, rowsPerDay: 400, seed: 5 })).catalogPath;
    const list = `SELECT title, list_transform(string_split(genres, ';'), g -> trim(g)) AS genres FROM read_csv(${literal(csv)}, header = true, all_varchar = true)`;
    await db.run(`COPY (${list}) TO ${literal(join(data, 'titles.parquet'))} (FORMAT PARQUET)`);
    await db.run(`COPY (${list}) TO ${literal(join(data, 'titles.json'))} (FORMAT JSON, ARRAY true)`);
    // Shaped like ../shared/data/keyword_category.csv: No, keyword, category.
    await db.run(
      `COPY (SELECT row_number() OVER () AS No, title AS keyword, genres AS category
             FROM read_csv(${literal(csv)}, header = true, all_varchar = true))
       TO ${literal(join(data, 'keyword_category.csv'))} (HEADER)`,
    );
    db.close();
  });
  afterAll(async () => {
    for (const dir of dirs) await removeDir(dir);
    await removeDir(data);
  });

  async function matches(catalog: string) {
    const dir = await exampleProject(join(data, 'customer_search_log_data'), catalog);
    dirs.push(dir);
    return matchesIn(dir);
  }

  async function matchesIn(dir: string) {
    return withEngine(dir, async (engine) => {
      const summary = await engine.run({ select: ['bronze.customer_search', 'silver.keyword_match'] });
      expect(summary.error).toBeUndefined();
      return (
        await engine.query(
          `SELECT keyword, keyword_normalized, genres, round(score, 9) AS score FROM silver.keyword_match ORDER BY keyword`,
        )
      ).rows;
    });
  }

  it('gives identical matches whatever the file format', async () => {
    const fromCsv = await matches(csv);
    expect(fromCsv.length).toBeGreaterThan(100);
    expect(fromCsv.filter((r) => r.keyword_normalized !== 'not_matched').length).toBeGreaterThan(
      fromCsv.length / 2,
    );
    expect(fromCsv.some((r) => Array.isArray(r.genres) && (r.genres as string[]).length > 1)).toBe(true);
    expect(await matches(join(data, 'titles.parquet'))).toEqual(fromCsv);
    expect(await matches(join(data, 'titles.json'))).toEqual(fromCsv);
    // Named otherwise, a file is read as what its first bytes say, by init and by the run.
    await copyFile(join(data, 'titles.parquet'), join(data, 'titles.pq'));
    await copyFile(join(data, 'titles.json'), join(data, 'titles.export'));
    expect(await matches(join(data, 'titles.pq'))).toEqual(fromCsv);
    expect(await matches(join(data, 'titles.export'))).toEqual(fromCsv);
    // A list of genres is cleaned as a ';'-joined string is: stray spaces trimmed, blanks and NULLs dropped
    // (they reached keyword_category as 'Anime; Kids ;').
    const titles = JSON.parse(await readFile(join(data, 'titles.json'), 'utf8')) as { genres: unknown[] }[];
    const messy = titles.map((t) => ({ ...t, genres: [null, ...t.genres.map((g) => ` ${g} `), ''] }));
    await writeFile(join(data, 'messy.json'), JSON.stringify(messy));
    expect(await matches(join(data, 'messy.json'))).toEqual(fromCsv);

    // A catalog whose columns are named otherwise: init maps them when the header leaves no doubt, and
    // says so; the run-time check still names the fix for a rename taken out of lakehouse.yaml later.
    const otherNames = join(data, 'keyword_category.csv');
    const guessed = join(data, 'guessed');
    dirs.push(guessed);
    const init = lakehouse(
      'init',
      guessed,
      '--source',
      join(data, 'customer_search_log_data'),
      '--catalog',
      otherNames,
    );
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('catalog: reading its columns keyword as title, category as genres');
    const yaml = await readFile(join(guessed, 'lakehouse.yaml'), 'utf8');
    expect(yaml).toContain('rename: {"keyword": "title", "category": "genres"}');
    expect(await matchesIn(guessed)).toEqual(fromCsv);
    await writeFile(join(guessed, 'lakehouse.yaml'), yaml.replace(/^ {4}rename: .*\n/m, ''));
    // With bronze: a fresh project has no bronze partition for keyword_match alone to read.
    const refused = lakehouse('run', guessed, '--select', '+silver.keyword_match');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(
      'lacks required columns title, genres (found No, keyword, category). If the file names them otherwise, ' +
        'map its columns in lakehouse.yaml: sources.title_catalog.rename: {<file column>: title, <file column>: genres}',
    );

    // A rename given by hand is checked against the header before anything is written.
    const mapped = join(data, 'mapped');
    dirs.push(mapped);
    const initArgs = ['--source', join(data, 'customer_search_log_data'), '--catalog', otherNames];
    const typo = lakehouse('init', mapped, ...initArgs, '--catalog-rename', 'keywrd=title,category=genres');
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(
      `--catalog-rename names column keywrd that ${otherNames} does not have (found No, keyword, category).`,
    );
    // What a rename leaves out is guessed as without one, and said; what cannot be, is asked for.
    const half = join(data, 'half');
    dirs.push(half);
    const halfInit = lakehouse('init', half, ...initArgs, '--catalog-rename', 'keyword=title');
    expect(halfInit.code, halfInit.stderr).toBe(0);
    expect(halfInit.stdout).toContain('catalog: reading its columns category as genres');
    expect(await readFile(join(half, 'lakehouse.yaml'), 'utf8')).toContain(
      'rename: {"keyword": "title", "category": "genres"}',
    );
    const unclearHalf = join(data, 'unclear-half.csv');
    await writeFile(unclearHalf, 'label,kind,category\nA,movie,Drama\n');
    const asksRest = lakehouse(
      'init',
      mapped,
      ...initArgs.slice(0, 2),
      '--catalog',
      unclearHalf,
      '--catalog-rename',
      'category=genres',
    );
    expect(asksRest.code).toBe(2);
    expect(asksRest.stderr).toContain(
      'has no title column (found label, kind, category), which the example reads. ' +
        'Say which columns hold them: --catalog-rename category=genres,<file column>=title.',
    );
    expect(await exists(mapped)).toBe(false);
    const byHand = lakehouse(
      'init',
      mapped,
      ...initArgs,
      '--catalog-rename',
      'keyword=title, category=genres',
    );
    expect(byHand.code, byHand.stderr).toBe(0);
    expect(byHand.stdout).not.toContain('catalog: reading');
    expect(await readFile(join(mapped, 'lakehouse.yaml'), 'utf8')).toContain(
      'rename: {"keyword": "title", "category": "genres"}',
    );
    expect(await matchesIn(mapped)).toEqual(fromCsv);

    // Columns no common name gives away (or two candidates for one) are asked for, not guessed.
    const unclear = join(data, 'unclear.csv');
    await writeFile(unclear, 'label,kind,genre,category\nA,movie,Drama,Drama\n');
    const asked = lakehouse('init', join(data, 'never2'), ...initArgs.slice(0, 2), '--catalog', unclear);
    expect(asked.code).toBe(2);
    expect(asked.stderr).toContain(
      `--catalog ${unclear} has no title or genres column (found label, kind, genre, category), which the example reads. ` +
        'Say which columns hold them: --catalog-rename <file column>=title,<file column>=genres.',
    );
    expect(await exists(join(data, 'never2'))).toBe(false);
    // One column guessed and one not: only the other is asked for, and the guess is in the flag to give.
    const halfGuessed = join(data, 'half-guessed.csv');
    await writeFile(halfGuessed, 'name,tags\nA,Drama\n');
    const askedRest = lakehouse(
      'init',
      join(data, 'never2'),
      ...initArgs.slice(0, 2),
      '--catalog',
      halfGuessed,
    );
    expect(askedRest.code).toBe(2);
    expect(askedRest.stderr).toContain(
      `--catalog ${halfGuessed} has no genres column (found name, tags), which the example reads. ` +
        'Say which columns hold them: --catalog-rename name=title,<file column>=genres.',
    );
    // Text columns only: a struct named like a title is not guessed as one.
    const nested = join(data, 'nested.json');
    await writeFile(nested, JSON.stringify([{ id: 1, show: { name: 'A', year: 2021 }, genre: 'Drama' }]));
    const structGuess = lakehouse('init', join(data, 'never3'), ...initArgs.slice(0, 2), '--catalog', nested);
    expect(structGuess.code).toBe(2);
    expect(structGuess.stderr).toContain(
      'has no title column (found id, show, genre), which the example reads. ' +
        'Say which columns hold them: --catalog-rename genre=genres,<file column>=title.',
    );
    // The column named as the example's, in another case, wins over a synonym beside it.
    const capitals = join(data, 'capitals.csv');
    await writeFile(capitals, 'Title,Genres,Category\nA,Drama,x\n');
    const capitalised = lakehouse(
      'init',
      join(data, 'capitals'),
      ...initArgs.slice(0, 2),
      '--catalog',
      capitals,
    );
    dirs.push(join(data, 'capitals'));
    expect(capitalised.code, capitalised.stderr).toBe(0);
    expect(capitalised.stdout).toContain('catalog: reading its columns Title as title, Genres as genres');
    const badFlag = lakehouse('init', join(data, 'never'), '--catalog-rename', 'keyword');
    expect(badFlag.stderr).toContain('--catalog-rename keyword: expected <file column>=<name>');
  });

  it('takes genres spelt apart only by case or punctuation for one category', async () => {
    // Every other title's genres in lower case, and C-drama also spelt "C drama": one slug each.
    const respelt = join(data, 'respelt.csv');
    const db = await openDb();
    await db.run(
      `COPY (SELECT title, CASE WHEN row_number() OVER () % 2 = 0 THEN replace(lower(genres), 'c-drama', 'c drama') ELSE genres END AS genres
             FROM read_csv(${literal(csv)}, header = true, all_varchar = true))
       TO ${literal(respelt)} (HEADER)`,
    );
    db.close();
    const dir = await exampleProject(join(data, 'customer_search_log_data'), respelt);
    dirs.push(dir);
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({});
      expect(summary.error?.message).toBeUndefined();
      const spellings = await engine.query(
        `SELECT count(DISTINCT g) AS spellings, count(DISTINCT slugify(g)) AS slugs
         FROM (SELECT trim(unnest(string_split(keyword_category, ';'))) AS g FROM silver.customer_search)`,
      );
      expect(Number(spellings.rows[0]!.spellings)).toBeGreaterThan(Number(spellings.rows[0]!.slugs));
      const categories = await engine.query(
        `SELECT category_name, category_slug FROM dim_category WHERE category_key <> 0 ORDER BY category_slug`,
      );
      expect(categories.rows.length).toBe(Number(spellings.rows[0]!.slugs));
      expect(categories.rows).toContainEqual({ category_name: 'C-drama', category_slug: 'c-drama' });
      // Each event's main genre, whatever its spelling, points at its slug's one category.
      const wrong = await engine.query(
        `SELECT count(*) AS n FROM fact_customer_search AS f
         JOIN silver.customer_search AS s USING (event_id)
         LEFT JOIN dim_category AS c ON c.category_key = f.main_keyword_category
         WHERE s.keyword_category IS NOT NULL
           AND c.category_slug IS DISTINCT FROM slugify(trim(split_part(s.keyword_category, ';', 1)))`,
      );
      expect(wrong.rows[0]!.n).toBe(0);
      const lowerSpelt = await engine.query(
        `SELECT count(*) AS n FROM silver.customer_search WHERE keyword_category LIKE 'c drama%'`,
      );
      expect(Number(lowerSpelt.rows[0]!.n)).toBeGreaterThan(0);
    });
  });

  it('gives genres no slug can spell (CJK) a category, and maps placeholders and Unknown to the unknown member', async () => {
    // Rewrite every third title's first genre: CJK, a placeholder symbol, or the word Unknown.
    const foreign = join(data, 'foreign.csv');
    const db = await openDb();
    await db.run(
      `COPY (SELECT title,
                    CASE row_number() OVER () % 6 WHEN 0 THEN '动作' WHEN 2 THEN '★' WHEN 4 THEN 'Unknown' ELSE split_part(genres, ';', 1) END
                      || coalesce(';' || nullif(array_to_string(string_split(genres, ';')[2:], ';'), ''), '') AS genres
             FROM read_csv(${literal(csv)}, header = true, all_varchar = true))
       TO ${literal(foreign)} (HEADER)`,
    );
    db.close();
    const dir = await exampleProject(join(data, 'customer_search_log_data'), foreign);
    dirs.push(dir);
    await withEngine(dir, async (engine) => {
      const summary = await engine.run({});
      expect(summary.error?.message).toBeUndefined();
      const categories = await engine.query(
        `SELECT category_key, category_name, category_slug FROM dim_category
         WHERE category_name IN ('动作', '★') OR category_slug IN ('unknown', '★') ORDER BY category_key`,
      );
      expect(categories.rows).toEqual([
        { category_key: 0, category_name: 'unknown', category_slug: 'unknown' },
        { category_key: expect.any(Number), category_name: '动作', category_slug: '动作' },
      ]);
      // Every event's main genre points at the category its name gives: Unknown and ★ at key 0.
      const keys = await engine.query(
        `SELECT split_part(s.keyword_category, ';', 1) AS genre, c.category_name, count(*) AS n
         FROM fact_customer_search AS f JOIN silver.customer_search AS s USING (event_id)
         JOIN dim_category AS c ON c.category_key = f.main_keyword_category
         WHERE split_part(s.keyword_category, ';', 1) IN ('动作', '★', 'Unknown')
         GROUP BY ALL ORDER BY genre`,
      );
      expect(keys.rows.map((r) => [r.genre, r.category_name])).toEqual([
        ['Unknown', 'unknown'],
        ['★', 'unknown'],
        ['动作', '动作'],
      ]);
    });
  });
});

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  BUILTIN_CATALOG_PATH,
  BUILTIN_TITLE_COUNT,
  buildTitleCatalog,
  builtinTitleCatalogCsv,
  catalogToCsv,
  GENRES,
} from '../../engine/generate/titles.ts';
import { shadowedTitles } from '../../engine/normalize/matcher.ts';
import { slugify } from '../../engine/normalize/slug.ts';

const PROJECT_ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

describe('buildTitleCatalog', () => {
  it('builds the requested number of case-insensitively distinct titles', () => {
    const titles = buildTitleCatalog(30_000, 7);
    expect(titles).toHaveLength(30_000);
    expect(new Set(titles.map((t) => t.title.toLowerCase())).size).toBe(30_000);
  });

  it('gives each title 1-3 distinct known genres', () => {
    const known = new Set<string>(GENRES);
    for (const { genres } of buildTitleCatalog(2000, 3)) {
      expect(genres.length).toBeGreaterThanOrEqual(1);
      expect(genres.length).toBeLessThanOrEqual(3);
      expect(new Set(genres).size).toBe(genres.length);
      for (const genre of genres) expect(known.has(genre)).toBe(true);
    }
  });

  it('uses every genre, Vietnamese diacritics and sequels', () => {
    const titles = buildTitleCatalog(3000, 11);
    const used = new Set(titles.flatMap((t) => t.genres));
    expect([...used].sort()).toEqual([...GENRES].sort());
    expect(titles.filter((t) => /[đĐ]/.test(t.title)).length).toBeGreaterThan(100);
    expect(titles.filter((t) => /Phần \d/.test(t.title)).length).toBeGreaterThan(10);
  });

  it('is deterministic per seed, and starts with the built-in titles whatever the seed', () => {
    expect(buildTitleCatalog(1000, 5)).toEqual(buildTitleCatalog(1000, 5));
    const a = buildTitleCatalog(1000, 1);
    const b = buildTitleCatalog(1000, 2);
    expect(a.slice(0, BUILTIN_TITLE_COUNT)).toEqual(b.slice(0, BUILTIN_TITLE_COUNT));
    expect(a.slice(BUILTIN_TITLE_COUNT)).not.toEqual(b.slice(BUILTIN_TITLE_COUNT));
    expect(buildTitleCatalog(200, 9)).toEqual(a.slice(0, 200));
  });
});

describe('generated title catalog', () => {
  // 150,000 rows a day make 15,000 titles: 245 of them ('Nàng Trọn Đời' beside 'Nắng Trọn Đời', 'X Phần 5'
  // beside 'X (Phần 5)') shared a slug with a title of other genres, so the matcher dropped their genres
  // and every run on the data told the user to fix a catalog the generator wrote.
  it('gives every title its own slug, so the matcher ignores none of them', () => {
    const titles = buildTitleCatalog(15_000, 3);
    expect(titles).toHaveLength(15_000);
    expect(new Set(titles.map((t) => slugify(t.title))).size).toBe(15_000);
    expect(shadowedTitles(titles)).toEqual([]);
  });
});

describe('catalogToCsv', () => {
  it('writes a title,genres header and quotes fields that need it', () => {
    const csv = catalogToCsv([
      { title: 'Plain', genres: ['Anime'] },
      { title: 'Comma, "Quoted"', genres: ['Show', 'Music'] },
    ]);
    expect(csv).toBe('title,genres\nPlain,Anime\n"Comma, ""Quoted""",Show;Music\n');
  });
});

describe('built-in catalog', () => {
  it(`${BUILTIN_CATALOG_PATH} is exactly what the builder produces (regenerate it if this fails)`, async () => {
    const committed = await readFile(resolve(PROJECT_ROOT, BUILTIN_CATALOG_PATH), 'utf8');
    expect(committed).toBe(builtinTitleCatalogCsv());
    expect(committed.trimEnd().split('\n')).toHaveLength(BUILTIN_TITLE_COUNT + 1);
  });
});

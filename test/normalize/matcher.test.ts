import { describe, expect, it } from 'vitest';
import {
  buildTitleIndex,
  type CatalogTitle,
  matchKeywords,
  NOT_MATCHED,
  type TitleIndex,
} from '../../engine/normalize/matcher.ts';
import { slugify } from '../../engine/normalize/slug.ts';

const CATALOG: CatalogTitle[] = [
  { title: 'Naruto', genres: ['Anime'] },
  { title: 'Naruto Shippuden', genres: ['Anime', 'Action'] },
  { title: 'Bóng Đá', genres: ['Sport'] },
  { title: 'Trực Tiếp Bóng Đá', genres: ['Sport', 'Live'] },
  { title: 'Running Man', genres: ['Show'] },
  { title: 'Thử Thách Thần Tượng - Running Man', genres: ['Show'] },
  { title: 'Hậu Duệ Mặt Trời', genres: ['K-drama'] },
  { title: 'Liên Minh Công Lý: Phiên bản của Zack Snyder', genres: ['Action'] },
  { title: 'Doraemon', genres: ['Anime', 'Kids'] },
  { title: 'One Punch Man', genres: ['Anime'] },
  { title: 'Giữa Thanh Xuân', genres: ['C-drama'] },
  { title: 'Sao Băng', genres: ['Romance'] },
];

function matchOne(index: TitleIndex, keyword: string | null, threshold?: number) {
  const [result] = matchKeywords(index, [keyword], threshold === undefined ? {} : { threshold });
  if (result === undefined) throw new Error('no result');
  return result;
}

describe('matchKeywords on a small catalog', () => {
  const index = buildTitleIndex(CATALOG);

  it.each([
    ['Naruto', 'Naruto'],
    ['Hậu Duệ Mặt Trời', 'Hậu Duệ Mặt Trời'],
    ['hau due mat troi', 'Hậu Duệ Mặt Trời'],
    ['  HẬU duệ   MẶT trời ', 'Hậu Duệ Mặt Trời'],
    ['LIEN MINH CONG LY: PHIEN BAN CUA ZACK SNYDER', 'Liên Minh Công Lý: Phiên bản của Zack Snyder'],
    ['bong da', 'Bóng Đá'],
    ['BONG DA', 'Bóng Đá'],
    ['trực tiếp bóng đá', 'Trực Tiếp Bóng Đá'],
    ['thu thach than tuong running man', 'Thử Thách Thần Tượng - Running Man'],
  ])('exact slug %j → %j with score 1', (keyword, title) => {
    const m = matchOne(index, keyword);
    expect(m.matched).toBe(true);
    expect(m.normalized).toBe(title);
    expect(m.normalizedSlug).toBe(slugify(title));
    expect(m.keywordSlug).toBe(slugify(keyword));
    expect(m.score).toBeCloseTo(1, 12);
  });

  it.each([
    ['narutoo', 'Naruto'],
    ['naruto shipuden', 'Naruto Shippuden'],
    ['doremon', 'Doraemon'],
    ['one pnch man', 'One Punch Man'],
    ['hau due mat toi', 'Hậu Duệ Mặt Trời'],
    ['giua thanh xuan 2', 'Giữa Thanh Xuân'],
    ['running man tap 5', 'Running Man'],
    ['sao bang', 'Sao Băng'],
  ])('variant %j → %j with 0.5 <= score < 1', (keyword, title) => {
    const m = matchOne(index, keyword);
    expect(m.matched).toBe(true);
    expect(m.normalized).toBe(title);
    expect(m.genres).toEqual(CATALOG.find((c) => c.title === title)?.genres);
    if (slugify(keyword) !== slugify(title)) {
      expect(m.score).toBeGreaterThanOrEqual(0.5);
      expect(m.score).toBeLessThan(1);
    }
  });

  it.each(['xổ số miền bắc', 'thời tiết hôm nay', 'zzz', 'kênh vtv6'])(
    'unrelated %j → not_matched',
    (keyword) => {
      const m = matchOne(index, keyword);
      expect(m).toMatchObject({
        keyword,
        keywordSlug: slugify(keyword),
        normalized: NOT_MATCHED,
        normalizedSlug: NOT_MATCHED,
        genres: [],
        matched: false,
      });
      expect(m.score).toBeLessThan(0.5);
      expect(m.score).toBeGreaterThanOrEqual(0);
    },
  );

  it('đ maps to d on both sides: "bóng đá" and "bong da" are the same title', () => {
    const accented = buildTitleIndex([{ title: 'bong da', genres: ['Sport'] }]);
    const plain = matchOne(accented, 'Bóng Đá');
    expect(plain.keywordSlug).toBe('bong-da');
    expect(plain.normalizedSlug).toBe('bong-da');
    expect(plain.score).toBeCloseTo(1, 12);
    expect(matchOne(index, 'bóng đá').normalized).toBe('Bóng Đá');
  });

  it('accepts at exactly the threshold and rejects just above it', () => {
    const score = matchOne(index, 'narutoo').score ?? Number.NaN;
    expect(score).toBeGreaterThan(0);
    expect(score).toBeLessThan(1);
    expect(matchOne(index, 'narutoo', score)).toMatchObject({ matched: true, normalized: 'Naruto', score });
    expect(matchOne(index, 'narutoo', score + 1e-9)).toMatchObject({
      matched: false,
      normalized: NOT_MATCHED,
      genres: [],
      score,
    });
    expect(matchOne(index, 'xổ số miền bắc', 0).matched).toBe(
      (matchOne(index, 'xổ số miền bắc').score ?? 0) > 0,
    );
    expect(() => matchKeywords(index, ['naruto'], { threshold: 1.5 })).toThrow(RangeError);
    expect(() => matchKeywords(index, ['naruto'], { threshold: Number.NaN })).toThrow(RangeError);
  });

  it.each([null, '', '   ', '\t', '\u00a0', '\u200b', '\u3000\ufeff'])(
    'no keyword (%j) → nulls, score and matched too',
    (keyword) => {
      expect(matchOne(index, keyword)).toEqual({
        keyword: keyword ?? '',
        keywordSlug: null,
        normalized: null,
        normalizedSlug: null,
        genres: [],
        score: null,
        matched: null,
      });
    },
  );

  // A search in another script or in symbols has no slug to compare, but it is a search: not matched.
  it.each(['???', '😀', '三十而已', '한국과 브라질'])(
    'keyword %j without a slug → not_matched, score 0',
    (keyword) => {
      expect(matchOne(index, keyword)).toEqual({
        keyword,
        keywordSlug: null,
        normalized: NOT_MATCHED,
        normalizedSlug: NOT_MATCHED,
        genres: [],
        score: 0,
        matched: false,
      });
    },
  );

  it('keeps output parallel to input, repeats included, and is deterministic', () => {
    const keywords = ['naruto', null, 'NARUTO', 'doremon', 'naruto', 'xổ số', ''];
    const first = matchKeywords(index, keywords);
    expect(first.map((m) => m.keyword)).toEqual(keywords.map((k) => k ?? ''));
    expect(first[0]).toEqual({ ...first[2], keyword: 'naruto' });
    expect(matchKeywords(buildTitleIndex(CATALOG), keywords)).toEqual(first);
    // Results do not share genre arrays with the catalog or with each other.
    first[0]?.genres.push('mutated');
    expect(matchOne(index, 'naruto').genres).toEqual(['Anime']);
  });

  it('keeps the first title of duplicate slugs', () => {
    const dup = buildTitleIndex([
      { title: 'Naruto', genres: ['Anime'] },
      { title: 'NARUTO!', genres: ['Other'] },
      { title: 'Something', slug: 'naruto', genres: ['Third'] },
    ]);
    expect(dup.size).toBe(1);
    expect(matchOne(dup, 'naruto')).toMatchObject({ normalized: 'Naruto', genres: ['Anime'] });
  });

  it('uses the given slug, re-slugified, for the title vector', () => {
    const withSlug = buildTitleIndex([{ title: 'Ngôi Sao', slug: 'Ngoi_Sao', genres: ['Drama'] }]);
    expect(matchOne(withSlug, 'ngoi sao')).toMatchObject({ normalizedSlug: 'ngoi-sao', matched: true });
  });

  it('breaks exact ties towards the lowest catalog index', () => {
    const a = { title: 'ab x', genres: ['first'] };
    const b = { title: 'ab y', genres: ['second'] };
    const ab = matchOne(buildTitleIndex([a, b]), 'ab', 0);
    const ba = matchOne(buildTitleIndex([b, a]), 'ab', 0);
    expect(ab.score).toBe(ba.score);
    expect(ab.normalized).toBe('ab x');
    expect(ba.normalized).toBe('ab y');
  });

  it('handles an empty catalog, blank titles and very long keywords', () => {
    const empty = buildTitleIndex([
      { title: '', genres: ['x'] },
      { title: '  ?? ', genres: ['y'] },
    ]);
    expect(empty.size).toBe(0);
    expect(matchOne(empty, 'naruto')).toMatchObject({
      keywordSlug: 'naruto',
      score: 0,
      normalized: NOT_MATCHED,
    });
    const long = `${'naruto shippuden '.repeat(60)}bóng đá`;
    const m = matchOne(index, long, 0);
    expect(m.keywordSlug?.length).toBeGreaterThan(1000);
    expect(m.normalized).toBe('Naruto Shippuden');
    expect(m.score).toBeGreaterThan(0);
    expect(m.score).toBeLessThan(1);
  });

  it('returns score 0 when no title shares an n-gram', () => {
    expect(matchOne(buildTitleIndex([{ title: 'abc', genres: [] }]), 'xyz', 0)).toMatchObject({
      score: 0,
      matched: false,
      normalized: NOT_MATCHED,
    });
  });
});

// Reference: the textbook computation, all pairs, string n-grams in Maps; no index, no pruning.
// Returns, per keyword, the cosine with every distinct catalog title (in catalog order).
function bruteForce(titles: CatalogTitle[], keywords: string[]): { slugs: string[]; scores: number[][] } {
  const grams = (slug: string): Map<string, number> => {
    const s = `-${slug}-`;
    const counts = new Map<string, number>();
    for (const n of [2, 3]) {
      for (let i = 0; i + n <= s.length; i += 1) {
        const g = s.slice(i, i + n);
        counts.set(g, (counts.get(g) ?? 0) + 1);
      }
    }
    return counts;
  };
  const slugs: string[] = [];
  for (const t of titles) {
    const slug = slugify(t.title);
    if (slug !== null && !slugs.includes(slug)) slugs.push(slug);
  }
  const docs = slugs.map(grams);
  const df = new Map<string, number>();
  for (const d of docs) for (const g of d.keys()) df.set(g, (df.get(g) ?? 0) + 1);
  const idf = (g: string): number => Math.log((1 + docs.length) / (1 + (df.get(g) ?? 0))) + 1;
  const vector = (counts: Map<string, number>): Map<string, number> => {
    const v = new Map<string, number>();
    for (const [g, c] of counts) v.set(g, c * idf(g));
    const norm = Math.sqrt([...v.values()].reduce((sum, w) => sum + w * w, 0));
    for (const [g, w] of v) v.set(g, w / norm);
    return v;
  };
  const titleVectors = docs.map(vector);
  const scores = keywords.map((k) => {
    const q = vector(grams(slugify(k) ?? ''));
    return titleVectors.map((t) => {
      let dot = 0;
      for (const [g, w] of q) dot += w * (t.get(g) ?? 0);
      return dot;
    });
  });
  return { slugs, scores };
}

// Seeded generator of look-alike catalogs: few words shared by many titles make common n-grams, long
// posting lists and many near-ties, which is where pruning could go wrong.
function lookAlikeCase(seed: number, titleCount: number, wordCount: number, keywordCount: number) {
  let state = seed;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const words = [
    'người',
    'tình',
    'yêu',
    'mùa',
    'hè',
    'đêm',
    'trăng',
    'anh',
    'em',
    'nhà',
    'biển',
    'gió',
    'sao',
    'băng',
    'love',
    'night',
    'star',
    'man',
    'the',
    'of',
    'war',
    'king',
    'queen',
    'dragon',
    'phần',
    'tập',
    'ba',
  ].slice(0, wordCount);
  const titles: CatalogTitle[] = [];
  for (let i = 0; i < titleCount; i += 1) {
    const parts = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(words));
    if (random() < 0.3) parts.push(String(1 + Math.floor(random() * 5)));
    titles.push({ title: parts.join(' '), genres: [`g${i}`] });
  }
  const keywords: string[] = [];
  for (let i = 0; i < keywordCount; i += 1) {
    const base = (slugify(pick(titles).title) ?? '').replaceAll('-', ' ');
    const roll = random();
    if (roll < 0.15) keywords.push(base);
    else if (roll < 0.4) {
      const at = Math.floor(random() * base.length);
      keywords.push(base.slice(0, at) + base.slice(at + 1));
    } else if (roll < 0.6) keywords.push(`${base} ${pick(words)} xyz`);
    else if (roll < 0.7) keywords.push(base.split(' ')[0] ?? base);
    else if (roll < 0.85) keywords.push(`${pick(words)} ${pick(words)}`);
    else keywords.push(Array.from({ length: 3 }, () => pick('qwkjzxvan'.split(''))).join(''));
  }
  return { titles, keywords };
}

describe('pruned index search vs brute force', () => {
  it('handles keywords whose seed n-grams touch every title of a tiny catalog', () => {
    // Every title holds '-ab': the seed step touches all of them (the touched list fills up completely).
    const titles = ['ab', 'ab ab', 'abc', 'ab cd', 'ab c d e f g h', 'abab ab'].map((title, i) => ({
      title,
      genres: [`g${i}`],
    }));
    const keywords = ['ab', 'ab x', 'abcd', 'ab ab ab', 'ab c d', 'ba', 'a b'];
    const reference = bruteForce(titles, keywords);
    const results = matchKeywords(buildTitleIndex(titles), keywords, { threshold: 0 });
    results.forEach((m, i) => {
      const scores = reference.scores[i] ?? [];
      const max = Math.max(0, ...scores);
      expect(Math.abs((m.score ?? 0) - max), keywords[i]).toBeLessThan(1e-9);
      const winner = scores.findIndex((s) => s > max - 1e-12);
      expect(m.normalizedSlug, keywords[i]).toBe(reference.slugs[winner]);
    });
  });

  // The index bands titles by n-gram count and searches band by band; every case spans several bands.
  it.each([
    ['400 titles, 27 words', 7, 400, 27, 600],
    ['400 titles, 8 words', 11, 400, 8, 600],
    ['1,500 titles, 27 words', 13, 1500, 27, 600],
    ['3,000 titles, 14 words', 17, 3000, 14, 600],
    ['6,500 titles, 27 words', 19, 6500, 27, 250],
  ])(
    '%s: every score equals the brute-force maximum cosine to 1e-9',
    (_name, seed, titleCount, wordCount, keywordCount) => {
      const { titles, keywords } = lookAlikeCase(seed, titleCount, wordCount, keywordCount);
      const reference = bruteForce(titles, keywords);
      const index = buildTitleIndex(titles);
      expect(index.size).toBe(reference.slugs.length);
      const results = matchKeywords(index, keywords, { threshold: 0 });
      results.forEach((m, i) => {
        const scores = reference.scores[i] ?? [];
        const max = Math.max(0, ...scores);
        expect(Math.abs((m.score ?? 0) - max), keywords[i]).toBeLessThan(1e-9);
        if (max === 0) {
          expect(m.normalized).toBe(NOT_MATCHED);
          return;
        }
        // The chosen title scores the maximum, and no earlier title ties it.
        const chosen = reference.slugs.indexOf(m.normalizedSlug ?? '');
        expect(chosen, keywords[i]).toBeGreaterThanOrEqual(0);
        expect(Math.abs((scores[chosen] ?? -1) - max)).toBeLessThan(1e-9);
        expect(scores.slice(0, chosen).every((s) => s < max - 1e-12)).toBe(true);
      });
    },
  );
});

// Mixed-script catalog and keywords: Vietnamese with diacritics and đ, English, names and numbers.
function mixedCase(seed: number, titleCount: number, keywordCount: number) {
  let state = seed;
  const random = (): number => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const words = `đêm đông đường đua đất đỏ đào hoa người tình mùa hạ trăng sáng bóng đá trực tiếp hậu duệ
    mặt trời giữa thanh xuân sao băng thử thách thần tượng liên minh công lý phiên bản của nữ hoàng
    love night star king queen dragon war running man one punch naruto shippuden kim park zhang 2019 7`
    .split(/\s+/)
    .filter((w) => w !== '');
  const titles: CatalogTitle[] = [];
  for (let i = 0; i < titleCount; i += 1) {
    const title = Array.from({ length: 1 + Math.floor(random() * 6) }, () => pick(words)).join(' ');
    titles.push({ title: random() < 0.5 ? title.toUpperCase() : title, genres: [`g${i % 7}`] });
  }
  const stripped = (s: string): string => s.normalize('NFD').replace(/\p{M}/gu, '').replaceAll('đ', 'd');
  const typo = (s: string): string => {
    const at = Math.floor(random() * s.length);
    return random() < 0.5
      ? s.slice(0, at) + s.slice(at + 1)
      : `${s.slice(0, at)}${pick([...'aeiouđă'])}${s.slice(at)}`;
  };
  const keywords: (string | null)[] = [null, '', '   ', '?!', '😀', 'đ', 'Đ', 'a'];
  while (keywords.length < keywordCount) {
    const base = pick(titles).title;
    const roll = random();
    if (roll < 0.15) keywords.push(base.toLowerCase());
    else if (roll < 0.3) keywords.push(stripped(base));
    else if (roll < 0.5) keywords.push(typo(typo(stripped(base).toLowerCase())));
    else if (roll < 0.6) keywords.push(base.split(' ').slice(0, 2).join(' '));
    else if (roll < 0.75) keywords.push(`${base} ${pick(['tập 12', 'vietsub', 'thuyết minh', 'full hd'])}`);
    else if (roll < 0.8) keywords.push(`${base} `.repeat(1 + Math.floor(random() * 40)));
    else if (roll < 0.9) keywords.push(`${pick(words)} ${pick(words)}`);
    else
      keywords.push(
        Array.from({ length: 2 + Math.floor(random() * 6) }, () => pick([...'qwxzjkđơư'])).join(''),
      );
  }
  return { titles, keywords };
}

describe('index search vs brute force on mixed keywords', () => {
  it('gives every keyword the brute-force best title (lowest catalog index among ties) and score to 1e-9', () => {
    const { titles, keywords } = mixedCase(23, 700, 2500);
    const reference = bruteForce(
      titles,
      keywords.map((k) => k ?? ''),
    );
    const index = buildTitleIndex(titles);
    const results = matchKeywords(index, keywords);
    const titleBySlug = new Map(titles.map((t) => [slugify(t.title), t.title] as const).reverse());
    let accepted = 0;
    results.forEach((m, i) => {
      const keyword = keywords[i] ?? null;
      const scores = reference.scores[i] ?? [];
      const max = Math.max(0, ...scores);
      const winner = scores.findIndex((s) => s > max - 1e-12);
      expect(m.keyword).toBe(keyword ?? '');
      expect(m.keywordSlug).toBe(slugify(keyword));
      expect(Math.abs((m.score ?? 0) - max), String(keyword)).toBeLessThan(1e-9);
      if (m.keywordSlug === null || max < 0.5) {
        // No keyword (null, blank) is no search: neither matched nor not.
        expect(m.matched).toBe(m.normalized === null ? null : false);
        return;
      }
      accepted += 1;
      const slug = reference.slugs[winner] ?? '';
      expect(m).toMatchObject({ matched: true, normalizedSlug: slug, normalized: titleBySlug.get(slug) });
    });
    expect(accepted).toBeGreaterThan(keywords.length / 3);
  });
});

// Benchmark of the keyword matcher: 30k synthetic titles against 100k distinct keyword variants, in two
// catalogs. "varied": word lists plus generated Vietnamese syllables, pseudo-English words and proper
// names, tuned so 4,138 titles hold about as many distinct n-grams as the 4,138 distinct real search
// keywords in ../shared/data (~4,600); "look-alike": word lists only, so every n-gram is common (the
// worst case for pruning). Keywords: accent-stripped, case/space variants, typos, partial titles,
// titles plus noise words, and unrelated strings.
// Run: node bin/run-ts.js bench/matcher.ts [titles] [keywords]. Writes bench/results/matcher.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildTitleIndex, type CatalogTitle, matchKeywords } from '../engine/normalize/matcher.ts';
import { slugify } from '../engine/normalize/slug.ts';

const TITLE_COUNT = Number(process.argv[2] ?? 30_000);
const KEYWORD_COUNT = Number(process.argv[3] ?? 100_000);
const SPOT_CHECKS = 100;

const VIETNAMESE =
  `tình yêu người thương mùa hạ đêm trăng sao băng biển gió núi sông hoa vàng đỏ xanh trắng đen mắt
tim nhớ quên lời hứa chiến binh vương hậu công chúa hoàng tử thiếu gia tổng tài bác sĩ cảnh sát thám ma quỷ thần
tiên kiếm hiệp giang hồ thanh xuân tuổi trẻ học đường đình mẹ cha con chị em anh bạn thân bí mật truyền thuyết
huyền thoại cuộc thượng lưu hạnh phúc nụ cười nước ánh sáng bóng tối định mệnh duyên phận trở về ngày mai hôm
qua mãi một hai ba trái đất vũ trụ rồng phượng hổ cáo ly cô nàng chàng trai gái đẹp vui buồn phố thành làng quê
sài gòn hà nội đà nẵng huế lưỡi gươm diệt trấn phá án bắt giữ truy tìm kho báu bạc ngọc châu minh lan truyện ký
sự nhật tháng năm kỷ niệm ước mơ khát vọng số lạc lối phía trước sau lưng nhà trọ bếp tôi của là và trong trên
dưới nữ nam hoa hậu đại chiến siêu nhân kênh trực tiếp bóng đá gia tộc hào môn báo thù tái sinh cung đấu phi tần
hoàng đế thái giám tướng quân sát thủ điệp viên đặc nhiệm bệnh viện luật sư phóng viên ca sĩ thần tượng`.split(
    /\s+/,
  );

const ENGLISH =
  `love night star king queen dragon war shadow light dark secret story city heart fire ice blood moon
sun sea ocean river mountain storm wind rain summer winter spring autumn dream legend hero academia man woman boy
girl family house game thrones killer doctor detective police crime law order mission impossible fast furious wild
golden silver iron steel glass crystal empire kingdom prince princess witch wizard ghost zombie alien planet space
time return revenge rise fall last first lost found hidden forbidden eternal brave beautiful true beauty running
punch one attack titan tail fairy piece slayer demon hunter school high office boss chef kitchen music dance song
voice world universe my your our the of in and to from with beyond under over little big red blue black white
night day morning evening street road bridge tower castle garden island desert forest jungle code signal`.split(
    /\s+/,
  );

// Proper names make real catalogs varied: romanised Korean, Chinese, Japanese, Vietnamese and Western names.
const NAMES =
  `kim lee park choi jung kang cho yoon jang lim han seo shin kwon hwang ahn song yoo hong jeon moon yang
bae baek nam shim ryu jin eun hye soo jae hyun seung young jun sang yeon bin woo ri zhang wang liu chen huang zhao
zhou xu sun zhu guo lin luo gao zheng liang xie tang feng deng cao peng zeng xiao tian dong pan yuan cai jiang du
ye cheng wei su ding ren shen yao qian xue mei lan qing yun long hua xiang bai ling zhi hao yi ming sato suzuki
takahashi tanaka watanabe ito yamamoto nakamura kobayashi kato yoshida yamada sasaki matsumoto inoue kimura
hayashi shimizu naruto sasuke goku luffy zoro ichigo kenshin hiro yuki akira sakura haruka ren sora kaito nguyễn
trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý bình châu dũng giang hải hạnh hiếu hùng khánh
linh mai ngọc phong phúc quân quang sơn thảo thủy trang trung tuấn việt yến john mary james anna robert linda
michael sarah david emma peter alice henry oliver sophia jack harry lucy thomas kate zack snyder batman joker
sherlock holmes dracula hercules aladdin mulan shrek elsa moana simba tarzan rambo rocky bond wick marvel`.split(
    /\s+/,
  );

const NOISE = [
  'tập 12',
  'tap 5',
  'vietsub',
  'thuyết minh',
  'full hd',
  'trailer',
  'lồng tiếng',
  'phim',
  'mới nhất',
  'ep 3',
];
const SEQUELS = [
  ' 2',
  ' 3',
  ' Phần 2',
  ' Phần 3',
  ' Season 2',
  ' Season 4',
  ': Chapter 5',
  ' (2019)',
  ' II',
  ' Movie',
];

/** Deterministic PRNG (mulberry32) so every run benchmarks the same data. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VI_ONSETS = [
  '',
  'b',
  'c',
  'ch',
  'd',
  'đ',
  'g',
  'gi',
  'h',
  'kh',
  'l',
  'm',
  'n',
  'ng',
  'nh',
  'ph',
  'qu',
  'r',
  's',
  't',
  'th',
  'tr',
  'v',
  'x',
];
const VI_RHYMES =
  `a ai am an ang anh ao au ay ăn ăng âm ân âu ây e em en eo ê êm ên ênh êu i ia im in inh iu iêm iên iêng iêu
o oa oai oan oang oanh oe oi om on ong ô ôi ôm ôn ông ơ ơi ơm ơn u ua ui um un ung uy uyên ư ưa ưng ươi ương ươn`.split(
    /\s+/,
  );
// Vietnamese tone marks as combining characters (none, acute, grave, hook, tilde, dot below).
const VI_TONES = ['', '\u0301', '\u0300', '\u0309', '\u0303', '\u0323'];
const EN_ONSETS =
  `b c d f g h j k l m n p r s t v w z br cr dr fr gr pr tr st sh ch th bl cl fl gl pl sl sp`.split(' ');
const EN_VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'ee', 'oo', 'ou', 'y'];
const EN_CODAS = ['', '', 'n', 'r', 's', 't', 'l', 'm', 'nd', 'ng', 'ck', 'rk', 'st', 'x', 'th'];

type Catalog = 'varied' | 'look-alike';

function generateCatalog(count: number, random: () => number, catalog: Catalog): CatalogTitle[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const varied = catalog === 'varied';
  const viSyllable = (): string => {
    const rhyme = pick(VI_RHYMES);
    return `${pick(VI_ONSETS)}${rhyme.charAt(0)}${pick(VI_TONES)}${rhyme.slice(1)}`.normalize('NFC');
  };
  const enWord = (): string =>
    Array.from(
      { length: 1 + Math.floor(random() * 2.5) },
      () => pick(EN_ONSETS) + pick(EN_VOWELS) + pick(EN_CODAS),
    ).join('');
  const vi = (): string => (varied && random() < 0.25 ? viSyllable() : pick(VIETNAMESE));
  const en = (): string => (varied && random() < 0.25 ? enWord() : pick(ENGLISH));
  const name = (): string =>
    varied && random() < 0.35 ? (random() < 0.5 ? viSyllable() : enWord()) : pick(NAMES);
  const words = (word: () => string, min: number, max: number): string =>
    Array.from({ length: min + Math.floor(random() * (max - min + 1)) }, word).join(' ');
  const capitalise = (s: string): string =>
    s.replace(/(^|\s)(\p{L})/gu, (_m, space: string, c: string) => space + c.toUpperCase());
  const genres = [
    'Anime',
    'K-drama',
    'C-drama',
    'Romance',
    'Action',
    'Show',
    'Music',
    'Sport',
    'Kids',
    'Horror',
  ];
  const titles: CatalogTitle[] = [];
  const seen = new Set<string>();
  const bases: string[] = [];
  while (titles.length < count) {
    const roll = random();
    let title: string;
    if (roll < 0.3) title = words(vi, 2, 6);
    else if (roll < 0.5) title = words(en, 1, 5);
    else if (roll < 0.6) title = `${words(vi, 2, 4)} - ${words(en, 1, 3)}`;
    else if (roll < 0.7) title = `${words(name, 1, 3)} ${words(random() < 0.5 ? vi : en, 1, 3)}`;
    else if (roll < 0.78) title = `${words(vi, 1, 3)} ${words(name, 1, 3)}`;
    else if (roll < 0.85)
      title = `${words(name, 2, 3)}${random() < 0.3 ? ` ${1990 + Math.floor(random() * 35)}` : ''}`;
    else title = `${bases.length > 0 ? pick(bases) : words(en, 2, 3)}${pick(SEQUELS)}`;
    title = random() < 0.7 ? capitalise(title) : title;
    const slug = slugify(title);
    if (slug === null || seen.has(slug)) continue;
    seen.add(slug);
    if (roll < 0.85) bases.push(title);
    titles.push({ title, genres: [pick(genres), ...(random() < 0.3 ? [pick(genres)] : [])] });
  }
  return titles;
}

interface Keyword {
  text: string;
  /** Catalog index the keyword was derived from; -1 for pure noise. */
  source: number;
  kind: string;
}

function stripAccents(s: string): string {
  return s.normalize('NFD').replace(/\p{M}/gu, '').replaceAll('đ', 'd').replaceAll('Đ', 'D');
}

function typo(s: string, random: () => number): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const at = Math.floor(random() * s.length);
  const letter = letters[Math.floor(random() * letters.length)] ?? 'a';
  const op = random();
  if (op < 0.25) return s.slice(0, at) + s.slice(at + 1);
  if (op < 0.5) return s.slice(0, at) + letter + s.slice(at);
  if (op < 0.75) return s.slice(0, at) + letter + s.slice(at + 1);
  return s.slice(0, at) + s.charAt(at + 1) + s.charAt(at) + s.slice(at + 2);
}

function generateKeywords(titles: CatalogTitle[], count: number, random: () => number): Keyword[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const seen = new Set<string>();
  const keywords: Keyword[] = [];
  while (keywords.length < count) {
    const source = Math.floor(random() * titles.length);
    const title = titles[source]?.title ?? '';
    const roll = random();
    let kind: string;
    let text: string;
    if (roll < 0.1) [kind, text] = ['exact', title.toLowerCase()];
    else if (roll < 0.3) [kind, text] = ['no-accents', stripAccents(title).toLowerCase()];
    else if (roll < 0.35) [kind, text] = ['case-space', `  ${title.toUpperCase().replaceAll(' ', '  ')} `];
    else if (roll < 0.55) {
      const stripped = stripAccents(title).toLowerCase();
      [kind, text] = ['typo', random() < 0.3 ? typo(typo(stripped, random), random) : typo(stripped, random)];
    } else if (roll < 0.7) {
      const parts = title.split(' ');
      [kind, text] = [
        'partial',
        parts.slice(0, Math.max(1, Math.ceil(parts.length * (0.4 + random() * 0.4)))).join(' '),
      ];
    } else if (roll < 0.9)
      [kind, text] = ['noise-words', `${random() < 0.5 ? stripAccents(title) : title} ${pick(NOISE)}`];
    else {
      const gibberish = Array.from({ length: 3 + Math.floor(random() * 8) }, () =>
        String.fromCharCode(97 + Math.floor(random() * 26)),
      ).join('');
      [kind, text] = [
        'unrelated',
        random() < 0.5 ? gibberish : `${pick(VIETNAMESE)} ${pick(ENGLISH)} ${gibberish}`,
      ];
    }
    if (seen.has(text)) continue;
    seen.add(text);
    keywords.push({ text, source: kind === 'unrelated' ? -1 : source, kind });
  }
  return keywords;
}

/** Textbook all-pairs cosine for a few keywords, to check the pruned index at full scale. */
function bruteForceBest(titles: CatalogTitle[], keywords: string[]): number[] {
  const grams = (slug: string): Map<string, number> => {
    const s = `-${slug}-`;
    const counts = new Map<string, number>();
    for (let n = 2; n <= 3; n += 1) {
      for (let i = 0; i + n <= s.length; i += 1)
        counts.set(s.slice(i, i + n), (counts.get(s.slice(i, i + n)) ?? 0) + 1);
    }
    return counts;
  };
  const docs = titles.map((t) => grams(slugify(t.title) ?? ''));
  const df = new Map<string, number>();
  for (const d of docs) for (const g of d.keys()) df.set(g, (df.get(g) ?? 0) + 1);
  const vector = (counts: Map<string, number>): Map<string, number> => {
    const v = new Map<string, number>();
    for (const [g, c] of counts) v.set(g, c * (Math.log((1 + docs.length) / (1 + (df.get(g) ?? 0))) + 1));
    const norm = Math.sqrt([...v.values()].reduce((sum, w) => sum + w * w, 0));
    for (const [g, w] of v) v.set(g, w / norm);
    return v;
  };
  const vectors = docs.map(vector);
  return keywords.map((k) => {
    const q = [...vector(grams(slugify(k) ?? ''))];
    let best = 0;
    for (const t of vectors) {
      let dot = 0;
      for (const [g, w] of q) dot += w * (t.get(g) ?? 0);
      if (dot > best) best = dot;
    }
    return best;
  });
}

const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

function runScenario(catalog: Catalog) {
  const random = createRandom(20220601);
  let started = performance.now();
  const titles = generateCatalog(TITLE_COUNT, random, catalog);
  const keywords = generateKeywords(titles, KEYWORD_COUNT, random);
  const generateMs = performance.now() - started;
  const sample4138 = buildTitleIndex(titles.slice(0, 4138));

  started = performance.now();
  const index = buildTitleIndex(titles);
  const buildMs = performance.now() - started;

  started = performance.now();
  const cpuBefore = process.cpuUsage();
  const results = matchKeywords(
    index,
    keywords.map((k) => k.text),
  );
  const cpu = process.cpuUsage(cpuBefore);
  const matchMs = performance.now() - started;
  // Other processes may share the machine: CPU time is the steadier figure for one core's work.
  const matchCpuMs = (cpu.user + cpu.system) / 1000;

  // Synthetic ground truth: derived keywords should map back to their source, unrelated ones not match.
  const byKind = new Map<string, { total: number; matched: number; toSource: number }>();
  results.forEach((m, i) => {
    const k = keywords[i]!;
    const row = byKind.get(k.kind) ?? { total: 0, matched: 0, toSource: 0 };
    row.total += 1;
    if (m.matched) row.matched += 1;
    if (m.matched && k.source >= 0 && m.normalizedSlug === slugify(titles[k.source]?.title ?? null))
      row.toSource += 1;
    byKind.set(k.kind, row);
  });

  started = performance.now();
  const step = Math.floor(keywords.length / SPOT_CHECKS);
  const sample = Array.from({ length: SPOT_CHECKS }, (_, i) => i * step);
  const reference = bruteForceBest(
    titles,
    sample.map((i) => keywords[i]!.text),
  );
  const maxScoreDiff = Math.max(
    ...sample.map((i, j) => Math.abs((results[i]?.score ?? 0) - (reference[j] ?? 0))),
  );
  const bruteForceMs = performance.now() - started;

  return {
    catalog,
    titles: index.size,
    keywords: keywords.length,
    distinctGrams: index.grams,
    distinctGramsInFirst4138Titles: sample4138.grams,
    postings: index.postings,
    generateMs: round(generateMs),
    buildMs: round(buildMs),
    matchMs: round(matchMs),
    matchCpuMs: round(matchCpuMs),
    keywordsPerSecond: Math.round(keywords.length / (matchMs / 1000)),
    matchedShare: round(results.filter((m) => m.matched).length / results.length, 4),
    byKind: Object.fromEntries(
      [...byKind].map(([kind, r]) => [
        kind,
        {
          total: r.total,
          matchedShare: round(r.matched / r.total, 4),
          toSourceShare: round(r.toSource / r.total, 4),
        },
      ]),
    ),
    exactnessCheck: {
      keywords: SPOT_CHECKS,
      maxAbsScoreDiffVsBruteForce: maxScoreDiff,
      bruteForceMsForThese: round(bruteForceMs),
    },
  };
}

const scenarios = [];
for (const catalog of ['varied', 'look-alike'] as const) {
  const f = runScenario(catalog);
  scenarios.push(f);
  console.log(
    `\n${catalog} catalog: ${f.titles} titles, ${f.distinctGrams} distinct n-grams (${f.distinctGramsInFirst4138Titles} in the first 4,138), ${f.postings} postings`,
  );
  console.log(`  build:   ${f.buildMs} ms`);
  console.log(
    `  match:   ${f.keywords} keywords in ${f.matchMs} ms (CPU ${f.matchCpuMs} ms) = ${f.keywordsPerSecond} keywords/s`,
  );
  console.log(`  matched: ${(f.matchedShare * 100).toFixed(1)}%`);
  for (const [kind, r] of Object.entries(f.byKind)) {
    console.log(
      `    ${kind.padEnd(12)} ${String(r.total).padStart(6)}  matched ${(r.matchedShare * 100).toFixed(1).padStart(5)}%  to source ${(r.toSourceShare * 100).toFixed(1).padStart(5)}%`,
    );
  }
  console.log(
    `  exactness: max |score - brute force| over ${SPOT_CHECKS} keywords = ${f.exactnessCheck.maxAbsScoreDiffVsBruteForce}`,
  );
}

const figures = {
  scenarios,
  heapUsedMB: round(process.memoryUsage().heapUsed / 2 ** 20),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  date: new Date().toISOString(),
};
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'matcher.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(figures, null, 2)}\n`);
console.log(`\nwrote ${out}`);

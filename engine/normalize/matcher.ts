// Keyword normalisation (the original pipeline's "ML logic"): TF-IDF over character 2- and 3-grams of
// slugs, cosine nearest neighbour among catalog titles, accepted at score >= threshold.
//
// Analyzer: the slug from slugify() ([a-z0-9] words joined by single '-') is padded with one '-' on each
// side, so '-' marks every word boundary, including the two ends ("bong-da" → "-bong-da-"). N-grams
// cross word boundaries, like sklearn's analyzer='char'. The padding gives one-letter keywords n-grams
// at all and weights word starts and ends. Titles and keywords go through the same analyzer.
//
// Weights: tf = raw count in the slug, idf = ln((1 + n) / (1 + df)) + 1 with df counted over the n
// distinct catalog titles (sklearn's smooth idf), vectors L2-normalised. A keyword n-gram that no
// title contains has df = 0 and still counts in the keyword's norm, so noise words lower the score
// (sklearn's transform() would silently drop it and overrate noisy keywords).
//
// Search, exact but pruned (a naive all-pairs or n-gram join explodes: 100k keywords × 30k look-alike
// titles). Titles are cut into bands by their number of distinct n-grams; an inverted index (band, n-gram)
// → (title, weight) plus each title's full vector. Per keyword: (1) a slug equal to a catalog slug scores
// 1 at once; (2) else the rarest n-grams are scored over all titles and the best few titles get an exact
// cosine: a first score to beat; (3) per band, a band whose titles are too short to reach that score is
// skipped whole (Cauchy-Schwarz on the keyword's largest weights), and in the others the common n-grams
// are skipped while a bound on what they can add stays below a share of the score, as in MaxScore: the
// smaller of the sum of keyword weight × the n-gram's largest weight in the band and the norm of the
// skipped keyword weights. The others' postings are accumulated, and every title whose partial score plus
// that bound (tightened per title: a high partial score uses up part of the title's norm) can still reach
// the best gets an exact cosine from its full vector, at most once per keyword. A title left out provably
// cannot win, so the score is the exact maximum cosine for every keyword, accepted or not, and equal to a
// brute-force search (test/normalize/matcher.test.ts).
import { slugify } from './slug.ts';

export interface CatalogTitle {
  title: string;
  slug?: string | null;
  genres: string[];
}

export interface KeywordMatch {
  keyword: string;
  keywordSlug: string | null;
  normalized: string | null;
  normalizedSlug: string | null;
  genres: string[];
  /** The cosine of the nearest title; null for no keyword (null or blank), which is not a search. */
  score: number | null;
  /** Whether `score` reached the threshold; null for no keyword, as `score`. */
  matched: boolean | null;
}

/** A catalog prepared for matching; build with {@link buildTitleIndex}. Immutable once built. */
export interface TitleIndex {
  /** Distinct titles indexed (titles with the same slug keep the first). */
  readonly size: number;
  /** Distinct n-grams in the catalog. */
  readonly grams: number;
  /** (title, n-gram) postings. */
  readonly postings: number;
}

export interface MatchOptions {
  /** Minimum cosine to accept a match, in [0, 1]. Default 0.5. */
  threshold?: number;
}

export const NOT_MATCHED = 'not_matched';

/**
 * A keyword with nothing to see: JavaScript's whitespace (spaces, tabs, line breaks, no-break and
 * ideographic spaces, the BOM) plus the zero-width space a real search starts with. Such a keyword is
 * no keyword (nulls), like null; {@link BLANK_KEYWORD_SQL} says the same in DuckDB.
 */
export function isBlankKeyword(keyword: string): boolean {
  return keyword.replaceAll('\u200b', '').trim() === '';
}

/** DuckDB pattern of {@link isBlankKeyword}: `\p{Z}` holds the Unicode spaces and line separators. */
export const BLANK_KEYWORD_SQL = (column: string): string =>
  `regexp_full_match(${column}, '[\\t\\n\\x{0b}\\f\\r\\p{Z}\\x{200b}\\x{feff}]*')`;

const DEFAULT_THRESHOLD = 0.5;
// Slug symbols: a-z → 1..26, 0-9 → 27..36, '-' → 37; 0 is unused so 2-gram and 3-gram codes never collide.
const BASE = 38;
const DASH = 37;
const CODE_SPACE = BASE * BASE * BASE;
// Scores this close are a tie (mathematically equal cosines can differ in the last bits), won by the
// lower catalog index. Pruning keeps a larger margin, so no tied title is ever skipped.
const TIE_EPSILON = 1e-10;
const BOUND_SLACK = 1e-9;
// Largest ratio of n-gram counts within one band of titles: narrower bands rule out more titles but
// cost more lists per n-gram; 1.6 (6-7 bands on bench/matcher.ts) measured best.
const BAND_RATIO = 1.6;

interface CatalogEntry {
  readonly title: string;
  readonly slug: string;
  readonly genres: readonly string[];
}

/**
 * The index behind the opaque TitleIndex. Catalog indexes count distinct titles in catalog order; the
 * search uses internal title ids (by n-gram count, see buildTitleIndex) and maps back with catalogIndex.
 */
interface IndexData extends TitleIndex {
  /** The titles' text; null in an index made by {@link searchPart}, which can search but not name a title. */
  readonly entries: readonly CatalogEntry[] | null;
  readonly titleBySlug: ReadonlyMap<string, number>;
  /** N-gram code → compact id among catalog n-grams, -1 when no title has it; per-gram arrays are by id. */
  readonly gramId: Int32Array;
  readonly df: Int32Array;
  readonly idf: Float64Array;
  /** idf of an n-gram no title contains (df = 0). */
  readonly unseenIdf: number;
  /** Catalog index of each internal title id. */
  readonly catalogIndex: Int32Array;
  /** Normalised title vectors by internal id (CSR): grams and weights of title t are at [titleStart[t], titleStart[t + 1]). */
  readonly titleStart: Int32Array;
  readonly titleGram: Int32Array;
  readonly titleWeight: Float64Array;
  /** Titles are grouped into bands by their number of distinct n-grams, each a range of internal ids. */
  readonly bands: number;
  /** Most distinct n-grams of any title in each band. */
  readonly bandMaxGrams: Int32Array;
  /** Largest normalised weight of n-gram g in band b at [b × grams + g]: what it can add per unit of keyword weight. */
  readonly bandMaxWeight: Float64Array;
  /** Postings of n-gram g in band b (CSR, ascending title): [postingStart[b × grams + g], postingStart[b × grams + g + 1]). */
  readonly postingStart: Int32Array;
  readonly postingTitle: Int32Array;
  readonly postingWeight: Float64Array;
}

/** Reusable buffers for n-gram extraction; `counts` is all zeros between calls. */
interface GramScratch {
  symbols: Uint8Array;
  codes: Int32Array;
  tf: Int32Array;
  readonly counts: Int32Array;
}

function createGramScratch(): GramScratch {
  return {
    symbols: new Uint8Array(64),
    codes: new Int32Array(128),
    tf: new Int32Array(128),
    counts: new Int32Array(CODE_SPACE),
  };
}

/** Fills scratch.codes/tf with the distinct n-gram codes of a slug and their counts; returns how many. */
function extractGrams(slug: string, scratch: GramScratch): number {
  const length = slug.length + 2;
  if (scratch.symbols.length < length) scratch.symbols = new Uint8Array(length * 2);
  if (scratch.codes.length < 2 * length) {
    scratch.codes = new Int32Array(length * 4);
    scratch.tf = new Int32Array(length * 4);
  }
  const { symbols, codes, tf, counts } = scratch;
  symbols[0] = DASH;
  symbols[length - 1] = DASH;
  for (let i = 0; i < slug.length; i += 1) {
    const c = slug.charCodeAt(i);
    symbols[i + 1] = c === 45 ? DASH : c >= 97 ? c - 96 : c - 48 + 27;
  }
  let distinct = 0;
  for (let i = 0; i + 1 < length; i += 1) {
    const bigram = symbols[i]! * BASE + symbols[i + 1]!;
    distinct = countGram(bigram, codes, counts, distinct);
    if (i + 2 < length) distinct = countGram(bigram * BASE + symbols[i + 2]!, codes, counts, distinct);
  }
  for (let k = 0; k < distinct; k += 1) {
    const code = codes[k]!;
    tf[k] = counts[code]!;
    counts[code] = 0;
  }
  return distinct;
}

function countGram(code: number, codes: Int32Array, counts: Int32Array, distinct: number): number {
  if (counts[code] === 0) codes[distinct++] = code;
  counts[code] = counts[code]! + 1;
  return distinct;
}

/** A catalog title ignored because an earlier one has its slug, though with other genres. */
export interface ShadowedTitle {
  title: string;
  genres: string[];
  /** The earlier title the index keeps for the slug. */
  kept: { title: string; genres: string[] };
}

/**
 * The titles `buildTitleIndex` leaves out for repeating an earlier title's slug with other genres: a
 * keyword matching that slug gets the kept title's genres only. Repeats with the same genres are harmless.
 */
export function shadowedTitles(titles: readonly CatalogTitle[]): ShadowedTitle[] {
  const first = new Map<string, CatalogTitle>();
  const shadowed: ShadowedTitle[] = [];
  for (const t of titles) {
    const slug = slugify(t.slug ?? null) ?? slugify(t.title);
    if (slug === null) continue;
    const kept = first.get(slug);
    if (!kept) first.set(slug, t);
    else if (kept.genres.join(';') !== t.genres.join(';')) {
      shadowed.push({
        title: t.title,
        genres: [...t.genres],
        kept: { title: kept.title, genres: [...kept.genres] },
      });
    }
  }
  return shadowed;
}

/**
 * Indexes catalog titles by the slug of `slug` (or of `title` when slug is absent/blank). Titles whose
 * slug is empty are skipped; duplicates by slug keep the first. Catalog order decides ties later.
 */
export function buildTitleIndex(titles: readonly CatalogTitle[]): TitleIndex {
  const entries: CatalogEntry[] = [];
  const titleBySlug = new Map<string, number>();
  for (const t of titles) {
    const slug = slugify(t.slug ?? null) ?? slugify(t.title);
    if (slug === null || titleBySlug.has(slug)) continue;
    titleBySlug.set(slug, entries.length);
    entries.push({ title: t.title, slug, genres: [...t.genres] });
  }
  const n = entries.length;

  // Pass 1: distinct n-grams and counts per title, document frequencies.
  const scratch = createGramScratch();
  const titleStart = new Int32Array(n + 1);
  let codeList: Int32Array = new Int32Array(1024);
  let tfList: Int32Array = new Int32Array(1024);
  const codeDf = new Int32Array(CODE_SPACE);
  let total = 0;
  for (let t = 0; t < n; t += 1) {
    const distinct = extractGrams(entries[t]!.slug, scratch);
    if (total + distinct > codeList.length) {
      const grown = Math.max(codeList.length * 2, total + distinct);
      codeList = copyInto(new Int32Array(grown), codeList);
      tfList = copyInto(new Int32Array(grown), tfList);
    }
    for (let k = 0; k < distinct; k += 1) {
      const code = scratch.codes[k]!;
      codeList[total + k] = code;
      tfList[total + k] = scratch.tf[k]!;
      codeDf[code] = codeDf[code]! + 1;
    }
    total += distinct;
    titleStart[t + 1] = total;
  }

  // Compact n-gram ids (catalog n-grams only) keep per-keyword dense vectors small and cache-resident.
  const gramId = new Int32Array(CODE_SPACE).fill(-1);
  let grams = 0;
  for (let code = 0; code < CODE_SPACE; code += 1) if (codeDf[code]! > 0) gramId[code] = grams++;
  const df = new Int32Array(grams);
  const idf = new Float64Array(grams);
  for (let code = 0; code < CODE_SPACE; code += 1) {
    const id = gramId[code]!;
    if (id < 0) continue;
    df[id] = codeDf[code]!;
    idf[id] = Math.log((1 + n) / (1 + codeDf[code]!)) + 1;
  }

  // Titles get internal ids in order of distinct n-gram count (stable, so catalog order among equals)
  // and are cut into bands spanning at most BAND_RATIO in count: each band is a contiguous id range, so
  // the sums of one band's postings stay in a few cache lines.
  const catalogIndex = Int32Array.from({ length: n }, (_, t) => t).sort(
    (a, b) => titleStart[a + 1]! - titleStart[a]! - (titleStart[b + 1]! - titleStart[b]!) || a - b,
  );
  const titleBand = new Int32Array(n);
  const bandMaxGrams: number[] = [];
  let bandFloor = 0;
  for (let u = 0; u < n; u += 1) {
    const t = catalogIndex[u]!;
    const count = titleStart[t + 1]! - titleStart[t]!;
    if (bandMaxGrams.length === 0 || count > bandFloor * BAND_RATIO) {
      bandFloor = count;
      bandMaxGrams.push(count);
    }
    titleBand[u] = bandMaxGrams.length - 1;
    bandMaxGrams[bandMaxGrams.length - 1] = count;
  }
  const bands = bandMaxGrams.length;

  // Pass 2, by internal id: normalised title vectors, postings per (band, n-gram) in ascending id order,
  // largest weight per (band, n-gram).
  const vectorStart = new Int32Array(n + 1);
  const titleGram = new Int32Array(total);
  const titleWeight = new Float64Array(total);
  const lists = bands * grams;
  const bandMaxWeight = new Float64Array(lists);
  const postingStart = new Int32Array(lists + 1);
  for (let u = 0; u < n; u += 1) {
    const t = catalogIndex[u]!;
    const offset = titleBand[u]! * grams;
    for (let k = titleStart[t]!; k < titleStart[t + 1]!; k += 1) {
      const list = offset + gramId[codeList[k]!]!;
      postingStart[list + 1] = postingStart[list + 1]! + 1;
    }
  }
  for (let list = 0; list < lists; list += 1)
    postingStart[list + 1] = postingStart[list + 1]! + postingStart[list]!;
  const fill = postingStart.slice(0, lists);
  const postingTitle = new Int32Array(total);
  const postingWeight = new Float64Array(total);
  for (let u = 0; u < n; u += 1) {
    const t = catalogIndex[u]!;
    const from = titleStart[t]!;
    const start = vectorStart[u]!;
    const end = start + titleStart[t + 1]! - from;
    vectorStart[u + 1] = end;
    let norm = 0;
    for (let k = start; k < end; k += 1) {
      const id = gramId[codeList[from + k - start]!]!;
      const w = tfList[from + k - start]! * idf[id]!;
      titleGram[k] = id;
      titleWeight[k] = w;
      norm += w * w;
    }
    norm = Math.sqrt(norm);
    const offset = titleBand[u]! * grams;
    for (let k = start; k < end; k += 1) {
      const list = offset + titleGram[k]!;
      const w = titleWeight[k]! / norm;
      titleWeight[k] = w;
      if (w > bandMaxWeight[list]!) bandMaxWeight[list] = w;
      const p = fill[list]!;
      fill[list] = p + 1;
      postingTitle[p] = u;
      postingWeight[p] = w;
    }
  }

  const index: IndexData = {
    size: n,
    grams,
    postings: total,
    entries,
    titleBySlug,
    gramId,
    df,
    idf,
    unseenIdf: Math.log(1 + n) + 1,
    catalogIndex,
    titleStart: vectorStart,
    titleGram,
    titleWeight,
    bands,
    bandMaxGrams: Int32Array.from(bandMaxGrams),
    bandMaxWeight,
    postingStart,
    postingTitle,
    postingWeight,
  };
  return index;
}

function copyInto(target: Int32Array, source: Int32Array): Int32Array {
  target.set(source);
  return target;
}

function isIndexData(index: TitleIndex): index is IndexData {
  return (index as Partial<IndexData>).postingStart instanceof Int32Array;
}

function indexData(index: TitleIndex): IndexData {
  if (!isIndexData(index)) throw new TypeError('the matcher needs an index made by buildTitleIndex');
  return index;
}

/**
 * The index without its titles' text: all {@link searchSlugs} needs, typed arrays and one map. For 30,000
 * titles it is copied to a worker thread in 35-65 ms, where the titles themselves took 55-170 ms and
 * indexing them again there 0.35 s.
 */
export function searchPart(index: TitleIndex): TitleIndex {
  const part: IndexData = { ...indexData(index), entries: null };
  return part;
}

/** Nearest titles of slugs: a catalog index per slug (-1 when no title shares an n-gram) and its score. */
export interface SlugSearch {
  title: Int32Array;
  score: Float64Array;
}

/**
 * Searches each slug (as {@link slugify} returns it, never null) for its nearest title: the exact
 * maximum cosine and the title that has it, as {@link matchKeywords} finds them.
 */
export function searchSlugs(index: TitleIndex, slugs: readonly string[]): SlugSearch {
  const search = searcherFor(indexData(index));
  const title = new Int32Array(slugs.length);
  const score = new Float64Array(slugs.length);
  for (let i = 0; i < slugs.length; i += 1) {
    const found = search(slugs[i]!);
    title[i] = found.title;
    score[i] = found.score;
  }
  return { title, score };
}

/** A searched slug's match: it always has a score and an answer. */
export type SearchedMatch = Omit<KeywordMatch, 'keyword' | 'score' | 'matched'> & {
  score: number;
  matched: boolean;
};

/** A search's answer for a slug as a match: the title when its score reaches the threshold, else not_matched. */
export function matchOfSearch(
  index: TitleIndex,
  keywordSlug: string,
  title: number,
  score: number,
  threshold = DEFAULT_THRESHOLD,
): SearchedMatch {
  const { entries } = indexData(index);
  if (entries === null) throw new TypeError('an index made by searchPart cannot name titles');
  const entry = title >= 0 ? entries[title] : undefined;
  const matched = entry !== undefined && score >= threshold;
  return {
    keywordSlug,
    normalized: matched ? entry.title : NOT_MATCHED,
    normalizedSlug: matched ? entry.slug : NOT_MATCHED,
    genres: matched ? [...entry.genres] : [],
    score,
    matched,
  };
}

/**
 * Matches each keyword to its nearest catalog title; `score` is the exact maximum cosine, accepted or
 * not. Output is parallel to `keywords`. Below the threshold normalized/normalizedSlug are 'not_matched'
 * and genres []. A keyword with no slug gets score 0: a search in another script or in symbols only
 * (三十而已, ???) is not matched; no keyword at all (null, blank) gets nulls, score and matched too, as a
 * null keyword has in silver (null is echoed as '').
 * Deterministic: ties go to the lowest catalog index; a catalog slug gets its own title.
 */
export function matchKeywords(
  index: TitleIndex,
  keywords: readonly (string | null)[],
  options: MatchOptions = {},
): KeywordMatch[] {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  if (!(threshold >= 0 && threshold <= 1))
    throw new RangeError(`threshold must be in [0, 1], got ${threshold}`);

  const search = searcherFor(indexData(index));
  // Keywords that differ only in case, accents or spacing share a slug: score each slug once.
  const bySlug = new Map<string, SearchedMatch>();
  const out: KeywordMatch[] = [];
  for (const keyword of keywords) {
    const keywordSlug = slugify(keyword);
    if (keywordSlug === null) {
      const blank = keyword === null || isBlankKeyword(keyword);
      out.push({
        keyword: keyword ?? '',
        keywordSlug: null,
        normalized: blank ? null : NOT_MATCHED,
        normalizedSlug: blank ? null : NOT_MATCHED,
        genres: [],
        score: blank ? null : 0,
        matched: blank ? null : false,
      });
      continue;
    }
    let found = bySlug.get(keywordSlug);
    if (found === undefined) {
      const { title, score } = search(keywordSlug);
      found = matchOfSearch(index, keywordSlug, title, score, threshold);
      bySlug.set(keywordSlug, found);
    }
    // Written out rather than spread (same keys, same order): the spread cost ~1.7 µs per keyword.
    out.push({
      keywordSlug: found.keywordSlug,
      normalized: found.normalized,
      normalizedSlug: found.normalizedSlug,
      genres: [...found.genres],
      score: found.score,
      matched: found.matched,
      keyword: keyword ?? '',
    });
  }
  return out;
}

/** Nearest title for one slug: `title` is a catalog index, -1 when no title shares an n-gram (score 0). */
type Searcher = (slug: string) => { title: number; score: number };

/** Per-keyword term buffers, grown on demand; `done` is all zeros between keywords. */
interface TermScratch {
  gram: Int32Array;
  weight: Float64Array;
  gain: Float64Array;
  order: Int32Array;
  scan: Int32Array;
  done: Uint8Array;
  /** Squared keyword weights (sorted in place), then the running sums of the largest first. */
  squares: Float64Array;
  topSquares: Float64Array;
}

function createTermScratch(capacity: number): TermScratch {
  return {
    gram: new Int32Array(capacity),
    weight: new Float64Array(capacity),
    gain: new Float64Array(capacity),
    order: new Int32Array(capacity),
    scan: new Int32Array(capacity),
    done: new Uint8Array(capacity),
    squares: new Float64Array(capacity),
    topSquares: new Float64Array(capacity + 1),
  };
}

// The rarest n-grams are scored first and the best few titles by that partial score get an exact
// cosine: the higher that first score, the more postings the next step can skip. 12 candidates rather
// than 4 find the winner before step 2 more often: ~5% faster on the pipeline's keywords, ~2-13% on
// bench/matcher.ts (16 was no better, 24 slower).
const SEED_TERMS = 6;
const SEED_CANDIDATES = 12;
// Share of the score to beat that the skipped n-grams' bounds may add up to. Higher skips more postings
// but leaves more titles to check with an exact cosine. 0.7 was fastest on the pipeline's keywords
// (~8% over 0.6) and within noise of 0.6 on bench/matcher.ts; 0.8 was 10-15% slower on the bench.
const SKIP_SHARE = 0.7;

// The hot loops are plain functions of their arguments: V8 optimises them far better than closures over
// the searcher's state (measured: a third less time per keyword).

/** Adds w × weight for postings [from, to) into acc, appending first-touched titles; returns the count. */
function accumulateTouched(
  postingTitle: Int32Array,
  postingWeight: Float64Array,
  from: number,
  to: number,
  w: number,
  acc: Float64Array,
  touched: Int32Array,
  count: number,
): number {
  let c = count;
  for (let p = from; p < to; p += 1) {
    const t = postingTitle[p]!;
    const before = acc[t]!;
    // Branch-free: whether a title is new is a coin toss, and a mispredicted branch per posting cost
    // ~25% of the seed step.
    touched[c] = t;
    c += Number(before === 0);
    acc[t] = before + w * postingWeight[p]!;
  }
  return c;
}

/** Adds w × weight for postings [from, to) into acc, appending titles whose sum crosses `bar`; returns the count. */
function accumulateCrossing(
  postingTitle: Int32Array,
  postingWeight: Float64Array,
  from: number,
  to: number,
  w: number,
  acc: Float64Array,
  bar: number,
  crossed: Int32Array,
  count: number,
): number {
  let c = count;
  for (let p = from; p < to; p += 1) {
    const t = postingTitle[p]!;
    const before = acc[t]!;
    const after = before + w * postingWeight[p]!;
    acc[t] = after;
    if (after >= bar && before < bar) crossed[c++] = t;
  }
  return c;
}

/** Sets acc to 0 for every title in postings [from, to). */
function clearPostings(postingTitle: Int32Array, from: number, to: number, acc: Float64Array): void {
  for (let p = from; p < to; p += 1) acc[postingTitle[p]!] = 0;
}

/** Dot product of title t's normalised vector with the dense normalised keyword vector. */
function exactCosine(
  titleStart: Int32Array,
  titleGram: Int32Array,
  titleWeight: Float64Array,
  queryDense: Float64Array,
  t: number,
): number {
  let dot = 0;
  for (let k = titleStart[t]!, end = titleStart[t + 1]!; k < end; k += 1) {
    dot += titleWeight[k]! * queryDense[titleGram[k]!]!;
  }
  return dot;
}

// One searcher per index, reused by every matchKeywords call: V8 specialises optimised code to the
// first closure made from a function, so a new searcher per call ran ~1.5× slower from the second call.
const searchers = new WeakMap<IndexData, Searcher>();

function searcherFor(ix: IndexData): Searcher {
  let search = searchers.get(ix);
  if (search === undefined) {
    search = createSearcher(ix);
    searchers.set(ix, search);
  }
  return search;
}

/** It owns the scratch buffers, so it is not reentrant (matchKeywords never yields mid-search). */
function createSearcher(ix: IndexData): Searcher {
  const gramScratch = createGramScratch();
  let terms = createTermScratch(128);
  const n = ix.size;
  const acc = new Float64Array(n);
  // One spare slot: accumulateTouched writes a title before it knows whether to keep it.
  const touched = new Int32Array(n + 1);
  const crossed = new Int32Array(n);
  const queryDense = new Float64Array(ix.grams);
  const topTitle = new Int32Array(SEED_CANDIDATES);
  const topScore = new Float64Array(SEED_CANDIDATES);
  // Seed n-grams (keyword term indexes) and where each band's titles start in `touched`.
  const seedTerm = new Int32Array(SEED_TERMS);
  const bandTouched = new Int32Array(ix.bands + 1);
  // (band, n-gram) lists scanned for the current keyword, to clear their titles' sums afterwards.
  let scannedLists: Int32Array = new Int32Array(256);
  const { gramId, df, idf, unseenIdf, catalogIndex, titleStart, titleGram, titleWeight } = ix;
  const { grams, bands, bandMaxGrams, bandMaxWeight } = ix;
  const { postingStart, postingTitle, postingWeight } = ix;

  let best = 0;
  // Catalog index of the best title so far.
  let bestTitle = -1;
  // Exact cosine of internal title t; ties (within TIE_EPSILON) go to the lower catalog index. The
  // title's partial sum becomes -Infinity: no later test (crossing the bar, partial + rest >= best)
  // passes again, so no title's cosine is computed twice (about half the cosines did that before).
  const consider = (t: number): void => {
    acc[t] = Number.NEGATIVE_INFINITY;
    const dot = exactCosine(titleStart, titleGram, titleWeight, queryDense, t);
    if (dot <= 0) return;
    const index = catalogIndex[t]!;
    const tied = bestTitle >= 0 && Math.abs(dot - best) <= TIE_EPSILON;
    if (tied ? index < bestTitle : dot > best) {
      best = dot;
      bestTitle = index;
    }
  };

  return (slug) => {
    // The keyword is a catalog title: cosine 1, and that title wins (only an identical vector could tie).
    const sameSlug = ix.titleBySlug.get(slug);
    if (sameSlug !== undefined) return { title: sameSlug, score: 1 };

    const distinct = extractGrams(slug, gramScratch);
    const { codes, tf } = gramScratch;
    if (terms.gram.length < distinct) terms = createTermScratch(distinct * 2);
    const { gram, weight, gain, order, scan, done, squares, topSquares } = terms;

    // Raw norm over all the keyword's n-grams; only those some title has can add to a dot product.
    let norm = 0;
    for (let k = 0; k < distinct; k += 1) {
      const id = gramId[codes[k]!]!;
      const w = tf[k]! * (id >= 0 ? idf[id]! : unseenIdf);
      norm += w * w;
    }
    norm = Math.sqrt(norm);
    let known = 0;
    for (let k = 0; k < distinct; k += 1) {
      const id = gramId[codes[k]!]!;
      if (id < 0) continue;
      const w = (tf[k]! * idf[id]!) / norm;
      gram[known] = id;
      weight[known] = w;
      squares[known] = w * w;
      queryDense[id] = w;
      known += 1;
    }
    best = 0;
    bestTitle = -1;

    // 1. Seed: the rarest n-grams over all titles, then the exact cosine of the best few partial scores.
    let seeds = 0;
    for (; seeds < SEED_TERMS && seeds < known; seeds += 1) {
      let rarest = -1;
      for (let i = 0; i < known; i += 1) {
        if (done[i] === 0 && (rarest < 0 || df[gram[i]!]! < df[gram[rarest]!]!)) rarest = i;
      }
      done[rarest] = 1;
      seedTerm[seeds] = rarest;
    }
    // Band by band, so the touched titles of band b are touched[bandTouched[b], bandTouched[b + 1]) and
    // step 2 revisits only those of the bands it scans.
    let touchedCount = 0;
    for (let b = 0; b < bands; b += 1) {
      bandTouched[b] = touchedCount;
      for (let s = 0; s < seeds; s += 1) {
        const term = seedTerm[s]!;
        const list = b * grams + gram[term]!;
        touchedCount = accumulateTouched(
          postingTitle,
          postingWeight,
          postingStart[list]!,
          postingStart[list + 1]!,
          weight[term]!,
          acc,
          touched,
          touchedCount,
        );
      }
    }
    bandTouched[bands] = touchedCount;
    let seedSquares = 0;
    for (let s = 0; s < seeds; s += 1) seedSquares += weight[seedTerm[s]!]! ** 2;
    topTitle.fill(-1);
    topScore.fill(0);
    for (let i = 0; i < touchedCount; i += 1) {
      const t = touched[i]!;
      const score = acc[t]!;
      if (score <= topScore[SEED_CANDIDATES - 1]!) continue;
      let slot = SEED_CANDIDATES - 1;
      while (slot > 0 && score > topScore[slot - 1]!) {
        topScore[slot] = topScore[slot - 1]!;
        topTitle[slot] = topTitle[slot - 1]!;
        slot -= 1;
      }
      topScore[slot] = score;
      topTitle[slot] = t;
    }
    for (let s = 0; s < SEED_CANDIDATES && topTitle[s]! >= 0; s += 1) consider(topTitle[s]!);

    // A title with m distinct n-grams shares at most m with the keyword, so by Cauchy-Schwarz its cosine
    // is at most the root of the keyword's m largest squared weights: short titles cannot match long keywords.
    // Insertion sort: a few dozen values, where a typed-array sort call costs more than the sorting.
    for (let i = 1; i < known; i += 1) {
      const square = squares[i]!;
      let j = i;
      for (; j > 0 && squares[j - 1]! > square; j -= 1) squares[j] = squares[j - 1]!;
      squares[j] = square;
    }
    topSquares[0] = 0;
    for (let i = 0; i < known; i += 1) topSquares[i + 1] = topSquares[i]! + squares[known - 1 - i]!;

    // Unseeded n-grams, most postings per unit of keyword weight first: the cheapest to skip.
    let unseeded = 0;
    for (let i = 0; i < known; i += 1) {
      if (done[i] === 1) continue;
      gain[i] = df[gram[i]!]! / weight[i]!;
      let j = unseeded;
      while (j > 0 && gain[order[j - 1]!]! < gain[i]!) {
        order[j] = order[j - 1]!;
        j -= 1;
      }
      order[j] = i;
      unseeded += 1;
    }

    // 2. MaxScore per band. A title with none of the scanned n-grams scores at most `rest`: the smaller of
    // the skipped n-grams' summed bounds (keyword weight × largest weight in the band) and, by
    // Cauchy-Schwarz, the norm of the keyword's skipped weights. Skip while rest < SKIP_SHARE × best.
    let scannedPostings = 0;
    let scannedListCount = 0;
    for (let b = 0; b < bands; b += 1) {
      const reach = Math.sqrt(topSquares[Math.min(known, bandMaxGrams[b]!)]!);
      if (reach + BOUND_SLACK < best) continue;
      const offset = b * grams;
      const target = best - BOUND_SLACK;
      const budget = SKIP_SHARE * target;
      const budgetSquared = budget * budget;
      let restSum = 0;
      let restSquares = 0;
      let scanned = 0;
      for (let i = 0; i < unseeded; i += 1) {
        const term = order[i]!;
        const bound = weight[term]! * bandMaxWeight[offset + gram[term]!]!;
        if (bound === 0) continue;
        const sum = restSum + bound;
        const squared = restSquares + weight[term]! * weight[term]!;
        if (sum < budget || (budget > 0 && squared < budgetSquared)) {
          restSum = sum;
          restSquares = squared;
        } else scan[scanned++] = term;
      }
      const rest = Math.min(restSum, Math.sqrt(restSquares));
      // A title can only win if its partial score reaches `bar`: collect titles as they cross it.
      const bar = best - rest - BOUND_SLACK;
      let crossedCount = 0;
      for (let k = 0; k < scanned; k += 1) {
        const term = scan[k]!;
        const list = offset + gram[term]!;
        const from = postingStart[list]!;
        const to = postingStart[list + 1]!;
        scannedPostings += to - from;
        if (scannedListCount === scannedLists.length)
          scannedLists = copyInto(new Int32Array(scannedListCount * 2), scannedLists);
        scannedLists[scannedListCount++] = list;
        crossedCount = accumulateCrossing(
          postingTitle,
          postingWeight,
          from,
          to,
          weight[term]!,
          acc,
          bar,
          crossed,
          crossedCount,
        );
      }
      // Per title, a tighter bound before the exact cosine: a partial score p over the accumulated
      // n-grams P (seed and scanned) needs |t_P| >= p / |q_P| by Cauchy-Schwarz, which leaves at most
      // 1 - p² / |q_P|² of the title's squared norm for the skipped ones. The 1e-12 keeps rounding in that
      // difference from making the bound too small (the root would magnify it). Written out in both
      // loops: a helper function measured a few % slower.
      let partSquares = seedSquares;
      for (let k = 0; k < scanned; k += 1) partSquares += weight[scan[k]!]! ** 2;
      const inverse = partSquares > 0 ? 1 / partSquares : 0;
      for (let i = 0; i < crossedCount; i += 1) {
        const t = crossed[i]!;
        const partial = acc[t]!;
        if (partial + rest + BOUND_SLACK < best) continue;
        const left = Math.max(0, 1 - partial * partial * inverse) + 1e-12;
        if (partial + Math.sqrt(restSquares * left) + BOUND_SLACK >= best) consider(t);
      }
      // Seeded titles may have been above the bar before the scan, so they never crossed it: check them
      // all (a title already considered has acc -Infinity and fails the test).
      for (let i = bandTouched[b]!, end = bandTouched[b + 1]!; i < end; i += 1) {
        const t = touched[i]!;
        const partial = acc[t]!;
        if (partial + rest + BOUND_SLACK < best) continue;
        const left = Math.max(0, 1 - partial * partial * inverse) + 1e-12;
        if (partial + Math.sqrt(restSquares * left) + BOUND_SLACK >= best) consider(t);
      }
    }

    // Clear by postings while that is cheaper than clearing every title.
    if (scannedPostings > n / 4) acc.fill(0);
    else {
      for (let i = 0; i < touchedCount; i += 1) acc[touched[i]!] = 0;
      for (let k = 0; k < scannedListCount; k += 1) {
        const list = scannedLists[k]!;
        clearPostings(postingTitle, postingStart[list]!, postingStart[list + 1]!, acc);
      }
    }
    for (let i = 0; i < known; i += 1) {
      queryDense[gram[i]!] = 0;
      done[i] = 0;
    }
    return { title: bestTitle, score: Math.min(1, best) };
  };
}

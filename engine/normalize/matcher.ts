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
// titles). An inverted index n-gram → (title, weight) plus each title's full vector. Per keyword:
// (1) a slug equal to a catalog slug scores 1 at once; (2) else the rarest n-grams are scored over all
// titles and the best few titles get an exact cosine: a first score to beat; (3) the common n-grams
// whose largest possible contributions (keyword weight × the n-gram's largest weight in any title) sum
// below a share of that score are skipped, as in MaxScore; the others' postings are accumulated, and
// every title whose partial score plus that bound can still reach the best gets an exact cosine from
// its full vector. A title left out provably cannot win, so the score is the exact maximum cosine for
// every keyword, accepted or not, and equal to a brute-force search (test/normalize/matcher.test.ts).
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
  score: number;
  matched: boolean;
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

const DEFAULT_THRESHOLD = 0.5;
// Slug symbols: a-z → 1..26, 0-9 → 27..36, '-' → 37; 0 is unused so 2-gram and 3-gram codes never collide.
const BASE = 38;
const DASH = 37;
const CODE_SPACE = BASE * BASE * BASE;
// Scores this close are a tie (mathematically equal cosines can differ in the last bits), won by the
// lower catalog index. Pruning keeps a larger margin, so no tied title is ever skipped.
const TIE_EPSILON = 1e-10;
const BOUND_SLACK = 1e-9;

interface CatalogEntry {
  readonly title: string;
  readonly slug: string;
  readonly genres: readonly string[];
}

/** The index behind the opaque TitleIndex. Title ids are catalog indexes (after de-duplication). */
interface IndexData extends TitleIndex {
  readonly entries: readonly CatalogEntry[];
  readonly titleBySlug: ReadonlyMap<string, number>;
  /** N-gram code → compact id among catalog n-grams, -1 when no title has it; per-gram arrays are by id. */
  readonly gramId: Int32Array;
  readonly df: Int32Array;
  readonly idf: Float64Array;
  /** idf of an n-gram no title contains (df = 0). */
  readonly unseenIdf: number;
  /** Largest normalised weight of each n-gram in any title: what it can add to a dot product, per unit of keyword weight. */
  readonly maxWeight: Float64Array;
  /** Normalised title vectors (CSR): grams and weights of title t are at [titleStart[t], titleStart[t + 1]). */
  readonly titleStart: Int32Array;
  readonly titleGram: Int32Array;
  readonly titleWeight: Float64Array;
  /** Postings of n-gram g (CSR, ascending title): [postingStart[g], postingStart[g + 1]). */
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

  // Pass 2: normalised title vectors, postings (ascending title because titles go in order), maxima.
  const titleGram = new Int32Array(total);
  const titleWeight = new Float64Array(total);
  const maxWeight = new Float64Array(grams);
  const postingStart = new Int32Array(grams + 1);
  for (let id = 0; id < grams; id += 1) postingStart[id + 1] = postingStart[id]! + df[id]!;
  const fill = postingStart.slice(0, grams);
  const postingTitle = new Int32Array(total);
  const postingWeight = new Float64Array(total);
  for (let t = 0; t < n; t += 1) {
    const start = titleStart[t]!;
    const end = titleStart[t + 1]!;
    let norm = 0;
    for (let k = start; k < end; k += 1) {
      const id = gramId[codeList[k]!]!;
      const w = tfList[k]! * idf[id]!;
      titleGram[k] = id;
      titleWeight[k] = w;
      norm += w * w;
    }
    norm = Math.sqrt(norm);
    for (let k = start; k < end; k += 1) {
      const id = titleGram[k]!;
      const w = titleWeight[k]! / norm;
      titleWeight[k] = w;
      if (w > maxWeight[id]!) maxWeight[id] = w;
      const p = fill[id]!;
      fill[id] = p + 1;
      postingTitle[p] = t;
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
    maxWeight,
    titleStart,
    titleGram,
    titleWeight,
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

/**
 * Matches each keyword to its nearest catalog title; `score` is the exact maximum cosine, accepted or
 * not. Output is parallel to `keywords`. Below the threshold normalized/normalizedSlug are 'not_matched'
 * and genres []. A keyword with no slug (null, blank, symbols only) gets score 0 and nulls (null is
 * echoed as ''). Deterministic: ties go to the lowest catalog index; a catalog slug gets its own title.
 */
export function matchKeywords(
  index: TitleIndex,
  keywords: readonly (string | null)[],
  options: MatchOptions = {},
): KeywordMatch[] {
  if (!isIndexData(index)) throw new TypeError('matchKeywords needs an index made by buildTitleIndex');
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  if (!(threshold >= 0 && threshold <= 1))
    throw new RangeError(`threshold must be in [0, 1], got ${threshold}`);

  const search = createSearcher(index);
  // Keywords that differ only in case, accents or spacing share a slug: score each slug once.
  const bySlug = new Map<string, Omit<KeywordMatch, 'keyword'>>();
  const out: KeywordMatch[] = [];
  for (const keyword of keywords) {
    const keywordSlug = slugify(keyword);
    if (keywordSlug === null) {
      out.push({
        keyword: keyword ?? '',
        keywordSlug: null,
        normalized: null,
        normalizedSlug: null,
        genres: [],
        score: 0,
        matched: false,
      });
      continue;
    }
    let found = bySlug.get(keywordSlug);
    if (found === undefined) {
      const { title, score } = search(keywordSlug);
      const entry = title >= 0 ? index.entries[title] : undefined;
      const matched = entry !== undefined && score >= threshold;
      found = {
        keywordSlug,
        normalized: matched ? entry.title : NOT_MATCHED,
        normalizedSlug: matched ? entry.slug : NOT_MATCHED,
        genres: matched ? [...entry.genres] : [],
        score,
        matched,
      };
      bySlug.set(keywordSlug, found);
    }
    out.push({ ...found, keyword: keyword ?? '', genres: [...found.genres] });
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
  done: Uint8Array;
}

function createTermScratch(capacity: number): TermScratch {
  return {
    gram: new Int32Array(capacity),
    weight: new Float64Array(capacity),
    gain: new Float64Array(capacity),
    order: new Int32Array(capacity),
    done: new Uint8Array(capacity),
  };
}

// The rarest n-grams are scored first and the best few titles by that partial score get an exact
// cosine: the higher that first score, the more postings the next step can skip.
const SEED_TERMS = 6;
const SEED_CANDIDATES = 4;
// Share of the score to beat that the skipped n-grams' bounds may add up to. Higher skips more postings
// but leaves more titles to check with an exact cosine; 0.6 was fastest on bench/matcher.ts.
const SKIP_SHARE = 0.6;

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
    if (before === 0) touched[c++] = t;
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

/** One searcher per matchKeywords call: it owns the scratch buffers, so it is not reentrant. */
function createSearcher(ix: IndexData): Searcher {
  const gramScratch = createGramScratch();
  let terms = createTermScratch(128);
  const n = ix.size;
  const acc = new Float64Array(n);
  const touched = new Int32Array(n);
  const crossed = new Int32Array(n);
  const queryDense = new Float64Array(ix.grams);
  const topTitle = new Int32Array(SEED_CANDIDATES);
  const topScore = new Float64Array(SEED_CANDIDATES);
  const { gramId, df, idf, unseenIdf, maxWeight, titleStart, titleGram, titleWeight } = ix;
  const { postingStart, postingTitle, postingWeight } = ix;

  let best = 0;
  let bestTitle = -1;
  // Exact cosine of title t; ties (within TIE_EPSILON) go to the lower catalog index.
  const consider = (t: number): void => {
    const dot = exactCosine(titleStart, titleGram, titleWeight, queryDense, t);
    if (dot <= 0) return;
    const tied = bestTitle >= 0 && Math.abs(dot - best) <= TIE_EPSILON;
    if (tied ? t < bestTitle : dot > best) {
      best = dot;
      bestTitle = t;
    }
  };

  return (slug) => {
    // The keyword is a catalog title: cosine 1, and that title wins (only an identical vector could tie).
    const sameSlug = ix.titleBySlug.get(slug);
    if (sameSlug !== undefined) return { title: sameSlug, score: 1 };

    const distinct = extractGrams(slug, gramScratch);
    const { codes, tf } = gramScratch;
    if (terms.gram.length < distinct) terms = createTermScratch(distinct * 2);
    const { gram, weight, gain, order, done } = terms;

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
      queryDense[id] = w;
      known += 1;
    }
    best = 0;
    bestTitle = -1;

    // 1. Seed: the rarest n-grams over all titles, then the exact cosine of the best few partial scores.
    let touchedCount = 0;
    for (let s = 0; s < SEED_TERMS && s < known; s += 1) {
      let rarest = -1;
      for (let i = 0; i < known; i += 1) {
        if (done[i] === 0 && (rarest < 0 || df[gram[i]!]! < df[gram[rarest]!]!)) rarest = i;
      }
      done[rarest] = 1;
      const g = gram[rarest]!;
      touchedCount = accumulateTouched(
        postingTitle,
        postingWeight,
        postingStart[g]!,
        postingStart[g + 1]!,
        weight[rarest]!,
        acc,
        touched,
        touchedCount,
      );
    }
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

    // 2. MaxScore. Bound of each other n-gram: keyword weight × its largest weight in any title. Skip
    // the n-grams that save the most postings per unit of bound while their bounds sum to `rest` <
    // SKIP_SHARE × best: a title with none of the scanned n-grams scores at most `rest` < best.
    let unseeded = 0;
    let total = 0;
    for (let i = 0; i < known; i += 1) {
      if (done[i] === 1) continue;
      const g = gram[i]!;
      total += weight[i]! * maxWeight[g]!;
      gain[i] = df[g]! / (weight[i]! * maxWeight[g]!);
      let j = unseeded;
      while (j > 0 && gain[order[j - 1]!]! < gain[i]!) {
        order[j] = order[j - 1]!;
        j -= 1;
      }
      order[j] = i;
      unseeded += 1;
    }
    const target = best - BOUND_SLACK;
    let rest = 0;
    let scanned = 0;
    let scannedPostings = 0;
    if (total < target) rest = total;
    else {
      const budget = SKIP_SHARE * target;
      for (let i = 0; i < unseeded; i += 1) {
        const term = order[i]!;
        const bound = weight[term]! * maxWeight[gram[term]!]!;
        if (rest + bound < budget) rest += bound;
        else {
          order[scanned++] = term;
          scannedPostings += df[gram[term]!]!;
        }
      }
    }
    // A title can only win if its partial score reaches `bar`: collect titles as they cross it.
    const bar = best - rest - BOUND_SLACK;
    let crossedCount = 0;
    for (let k = 0; k < scanned; k += 1) {
      const g = gram[order[k]!]!;
      crossedCount = accumulateCrossing(
        postingTitle,
        postingWeight,
        postingStart[g]!,
        postingStart[g + 1]!,
        weight[order[k]!]!,
        acc,
        bar,
        crossed,
        crossedCount,
      );
    }

    // 3. Exact cosine for every title whose partial score plus `rest` reaches the best so far.
    for (let i = 0; i < touchedCount; i += 1) {
      const t = touched[i]!;
      if (acc[t]! + rest + BOUND_SLACK >= best) consider(t);
    }
    for (let i = 0; i < crossedCount; i += 1) {
      const t = crossed[i]!;
      if (acc[t]! + rest + BOUND_SLACK >= best) consider(t);
    }

    // Clear by postings while that is cheaper than clearing every title.
    if (scannedPostings > n / 4) acc.fill(0);
    else {
      for (let i = 0; i < touchedCount; i += 1) acc[touched[i]!] = 0;
      for (let k = 0; k < scanned; k += 1) {
        const g = gram[order[k]!]!;
        clearPostings(postingTitle, postingStart[g]!, postingStart[g + 1]!, acc);
      }
    }
    for (let i = 0; i < known; i += 1) {
      queryDense[gram[i]!] = 0;
      done[i] = 0;
    }
    return { title: bestTitle, score: Math.min(1, best) };
  };
}

// Keyword normalisation (the original pipeline's "ML logic"): TF-IDF over character 2- and 3-grams of
// slugs, cosine nearest neighbour among catalog titles, accepted at score >= threshold.
//
// Analyzer: the slug from slugify() ([a-z0-9] words joined by single '-') is padded with one '-' on each
// side, so '-' marks every word boundary, including the two ends ("bong-da" → "-bong-da-"). Grams
// cross word boundaries, like sklearn's analyzer='char'. The padding gives one- and two-letter
// keywords n-grams at all and weights word starts and ends. Titles and keywords go through the same
// analyzer.
//
// Weights: tf = raw count in the slug, idf = ln((1 + n) / (1 + df)) + 1 with df counted over the n
// distinct catalog titles (sklearn's smooth idf), vectors L2-normalised. A keyword n-gram that no
// title contains has df = 0 and still counts in the keyword's norm, so noise words lower the score
// (sklearn's transform() would silently drop it and overrate noisy keywords).
//
// Search, exact but pruned (a naive all-pairs or n-gram join explodes: 100k keywords × 30k look-alike
// titles). An inverted index n-gram → (title, weight), with titles renumbered by vector norm and cut
// into shards. Per keyword: (1) a keyword whose slug is a catalog slug scores 1 at once; (2) otherwise
// the rarest n-grams are scored over all titles and the best few get an exact cosine, a first "score
// to beat"; (3) per shard, the common n-grams whose largest possible contributions (keyword weight ×
// the shard's largest weight of that n-gram) sum below that score are skipped, as in MaxScore, the
// others' postings are accumulated, and every title whose partial score plus that bound can still
// reach the best gets an exact cosine from its full vector. A title left out can provably not win, so
// the result is the exact maximum cosine, for every keyword, accepted or not.
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
  /** Postings (title, n-gram) pairs. */
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

// Titles are renumbered by ascending vector norm and cut into shards of similar norm: a shard far from
// a keyword's norm cannot hold a high cosine, and per-shard maximum weights give much tighter bounds
// than catalog-wide ones (short titles have large weights).
const TITLES_PER_SHARD = 1024;
const MAX_SHARDS = 32;

interface IndexData extends TitleIndex {
  /** Distinct titles in catalog order; "title index" outside the searcher means an index here. */
  readonly entries: readonly CatalogEntry[];
  /** Slug → internal title id. */
  readonly titleBySlug: ReadonlyMap<string, number>;
  /** N-gram code → compact id among catalog n-grams, -1 when no title has it; per-gram arrays are by id. */
  readonly gramId: Int32Array;
  readonly df: Int32Array;
  readonly idf: Float64Array;
  /** idf of an n-gram no title contains (df = 0). */
  readonly unseenIdf: number;
  /** Internal title id (ascending norm) → catalog index; ties between equal scores go to the lower one. */
  readonly catalogIndex: Int32Array;
  /** Raw (tf·idf) vector norm per internal title id, ascending. */
  readonly titleNorm: Float64Array;
  /** Normalised title vectors, CSR by internal id. */
  readonly titleStart: Int32Array;
  readonly titleGram: Int32Array;
  readonly titleWeight: Float64Array;
  readonly shards: number;
  /** Internal id range of each shard: [shardStart[s], shardStart[s + 1]). */
  readonly shardStart: Int32Array;
  readonly titleShard: Uint8Array;
  /** Postings of gram g in shard s: [postingStart[g·S + s], postingStart[g·S + s + 1]), by ascending title id. */
  readonly postingStart: Int32Array;
  readonly postingTitle: Int32Array;
  readonly postingWeight: Float64Array;
  /** Largest normalised weight of gram g among the titles of shard s, at g·S + s. */
  readonly shardMaxWeight: Float64Array;
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
  const slugIndex = new Map<string, number>();
  for (const t of titles) {
    const slug = slugify(t.slug ?? null) ?? slugify(t.title);
    if (slug === null || slugIndex.has(slug)) continue;
    slugIndex.set(slug, entries.length);
    entries.push({ title: t.title, slug, genres: [...t.genres] });
  }
  const n = entries.length;

  // Pass 1 (catalog order): distinct n-grams and counts per title, document frequencies.
  const scratch = createGramScratch();
  const entryStart = new Int32Array(n + 1);
  let codeList: Int32Array = new Int32Array(1024);
  let tfList: Int32Array = new Int32Array(1024);
  const codeDf = new Int32Array(CODE_SPACE);
  let total = 0;
  for (let e = 0; e < n; e += 1) {
    const distinct = extractGrams(entries[e]!.slug, scratch);
    if (total + distinct > codeList.length) {
      const grown = Math.max(codeList.length * 2, total + distinct);
      codeList = copyInto(new Int32Array(grown), codeList);
      tfList = copyInto(new Int32Array(grown), tfList);
    }
    for (let k = 0; k < distinct; k += 1) {
      const code = scratch.codes[k]!;
      const tf = scratch.tf[k]!;
      codeList[total + k] = code;
      tfList[total + k] = tf;
      codeDf[code] = codeDf[code]! + 1;
    }
    total += distinct;
    entryStart[e + 1] = total;
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

  const entryNorm = new Float64Array(n);
  for (let e = 0; e < n; e += 1) {
    let sum = 0;
    for (let k = entryStart[e]!; k < entryStart[e + 1]!; k += 1) {
      const w = tfList[k]! * idf[gramId[codeList[k]!]!]!;
      sum += w * w;
    }
    entryNorm[e] = Math.sqrt(sum);
  }
  const catalogIndex = Int32Array.from({ length: n }, (_, e) => e).sort(
    (a, b) => entryNorm[a]! - entryNorm[b]! || a - b,
  );

  // Pass 2 (internal order): normalised forward vectors, shards, postings and per-shard maxima.
  const shards = Math.min(MAX_SHARDS, Math.max(1, Math.floor(n / TITLES_PER_SHARD)));
  const shardStart = Int32Array.from({ length: shards + 1 }, (_, s) => Math.floor((s * n) / shards));
  const titleShard = new Uint8Array(n);
  for (let s = 0; s < shards; s += 1) titleShard.fill(s, shardStart[s]!, shardStart[s + 1]!);
  const titleNorm = new Float64Array(n);
  const titleStart = new Int32Array(n + 1);
  const titleGram = new Int32Array(total);
  const titleWeight = new Float64Array(total);
  const bucketCount = new Int32Array(grams * shards);
  let k2 = 0;
  for (let t = 0; t < n; t += 1) {
    const e = catalogIndex[t]!;
    const norm = entryNorm[e]!;
    titleNorm[t] = norm;
    for (let k = entryStart[e]!; k < entryStart[e + 1]!; k += 1, k2 += 1) {
      const id = gramId[codeList[k]!]!;
      titleGram[k2] = id;
      titleWeight[k2] = (tfList[k]! * idf[id]!) / norm;
      bucketCount[id * shards + titleShard[t]!] = bucketCount[id * shards + titleShard[t]!]! + 1;
    }
    titleStart[t + 1] = k2;
  }
  const postingStart = new Int32Array(grams * shards + 1);
  for (let b = 0; b < grams * shards; b += 1) postingStart[b + 1] = postingStart[b]! + bucketCount[b]!;
  const fill = postingStart.slice(0, grams * shards);
  const postingTitle = new Int32Array(total);
  const postingWeight = new Float64Array(total);
  const shardMaxWeight = new Float64Array(grams * shards);
  for (let t = 0; t < n; t += 1) {
    const s = titleShard[t]!;
    for (let k = titleStart[t]!; k < titleStart[t + 1]!; k += 1) {
      const bucket = titleGram[k]! * shards + s;
      const w = titleWeight[k]!;
      const p = fill[bucket]!;
      fill[bucket] = p + 1;
      postingTitle[p] = t;
      postingWeight[p] = w;
      if (w > shardMaxWeight[bucket]!) shardMaxWeight[bucket] = w;
    }
  }

  const titleBySlug = new Map<string, number>();
  for (let t = 0; t < n; t += 1) titleBySlug.set(entries[catalogIndex[t]!]!.slug, t);

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
    titleNorm,
    titleStart,
    titleGram,
    titleWeight,
    shards,
    shardStart,
    titleShard,
    postingStart,
    postingTitle,
    postingWeight,
    shardMaxWeight,
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
 * Matches each keyword to its nearest catalog title by exact TF-IDF cosine. Output is parallel to
 * `keywords`. Accepted when score >= threshold; otherwise normalized/normalizedSlug are 'not_matched',
 * genres []. A keyword with no slug (null, blank, symbols only) gets score 0 and nulls (a null keyword
 * is echoed as ''). Ties go to the lowest catalog index, so results are deterministic.
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
  scanned: Int32Array;
  done: Uint8Array;
}

function createTermScratch(capacity: number): TermScratch {
  return {
    gram: new Int32Array(capacity),
    weight: new Float64Array(capacity),
    gain: new Float64Array(capacity),
    order: new Int32Array(capacity),
    scanned: new Int32Array(capacity),
    done: new Uint8Array(capacity),
  };
}

// The rarest n-grams are scored first, over all shards, and the best few titles by that partial score
// get an exact cosine: a strong first score lets the shard pass skip more postings.
const SEED_TERMS = 4;
const SEED_CANDIDATES = 4;
// Share of the score to beat that the skipped n-grams of a shard may add up to. Higher skips more
// postings but leaves more titles whose exact cosine must be computed; 0.6 was fastest on the benchmark.
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
  candidates: Int32Array,
  count: number,
): number {
  let c = count;
  for (let p = from; p < to; p += 1) {
    const t = postingTitle[p]!;
    const before = acc[t]!;
    const after = before + w * postingWeight[p]!;
    acc[t] = after;
    if (after >= bar && before < bar) candidates[c++] = t;
  }
  return c;
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
  const S = ix.shards;
  const acc = new Float64Array(n);
  const touched = new Int32Array(n);
  const candidates = new Int32Array(n);
  const seedByShard = new Int32Array(n);
  const seedShardStart = new Int32Array(S + 1);
  const shardOrder = new Int32Array(S);
  const shardDistance = new Float64Array(S);
  const shardTotal = new Float64Array(S);
  let shardBound = new Float64Array(64 * S);
  const queryDense = new Float64Array(ix.grams);
  const topTitle = new Int32Array(SEED_CANDIDATES);
  const topScore = new Float64Array(SEED_CANDIDATES);
  const { gramId, df, idf, unseenIdf, catalogIndex, titleNorm, titleStart, titleGram, titleWeight } = ix;
  const { shardStart, titleShard, postingStart, postingTitle, postingWeight, shardMaxWeight } = ix;

  let touchedCount = 0;
  let best = 0;
  let bestTitle = -1;

  // Exact cosine from the title's full vector; tied scores go to the lower catalog index.
  const consider = (t: number): void => {
    const dot = exactCosine(titleStart, titleGram, titleWeight, queryDense, t);
    if (dot <= 0) return;
    const tied = bestTitle >= 0 && Math.abs(dot - best) <= TIE_EPSILON;
    if (tied ? catalogIndex[t]! < catalogIndex[bestTitle]! : dot > best) {
      best = dot;
      bestTitle = t;
    }
  };

  return (slug) => {
    // The keyword is a catalog title: cosine 1, and that title wins (only an identical vector could tie).
    const sameSlug = ix.titleBySlug.get(slug);
    if (sameSlug !== undefined) return { title: catalogIndex[sameSlug]!, score: 1 };

    const distinct = extractGrams(slug, gramScratch);
    const { codes, tf } = gramScratch;
    if (terms.gram.length < distinct) terms = createTermScratch(distinct * 2);
    const { gram, weight, gain, order, done } = terms;
    const scannedTerms = terms.scanned;

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

    touchedCount = 0;
    best = 0;
    bestTitle = -1;

    // 1. Seed: the rarest n-grams over every shard, then the exact cosine of the best few partial scores.
    for (let s = 0; s < SEED_TERMS && s < known; s += 1) {
      let rarest = -1;
      for (let i = 0; i < known; i += 1) {
        if (done[i] === 0 && (rarest < 0 || df[gram[i]!]! < df[gram[rarest]!]!)) rarest = i;
      }
      done[rarest] = 1;
      touchedCount = accumulateTouched(
        postingTitle,
        postingWeight,
        postingStart[gram[rarest]! * S]!,
        postingStart[(gram[rarest]! + 1) * S]!,
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

    // Seed-touched titles grouped by shard (counting sort), so each shard re-checks only its own.
    const seedCount = touchedCount;
    seedShardStart.fill(0);
    for (let i = 0; i < seedCount; i += 1) {
      const slot = titleShard[touched[i]!]! + 1;
      seedShardStart[slot] = seedShardStart[slot]! + 1;
    }
    for (let s = 0; s < S; s += 1) seedShardStart[s + 1] = seedShardStart[s + 1]! + seedShardStart[s]!;
    for (let i = 0; i < seedCount; i += 1) {
      const t = touched[i]!;
      const s = titleShard[t]!;
      seedByShard[seedShardStart[s]!] = t;
      seedShardStart[s] = seedShardStart[s]! + 1;
    }
    for (let s = S; s > 0; s -= 1) seedShardStart[s] = seedShardStart[s - 1]!;
    seedShardStart[0] = 0;

    // The other n-grams, most postings per unit of weight first: the first candidates for skipping.
    let unseeded = 0;
    for (let i = 0; i < known; i += 1) {
      if (done[i] === 1) continue;
      const g = gram[i]!;
      gain[i] = df[g]! / (weight[i]! * idf[g]!);
      let j = unseeded;
      while (j > 0 && gain[order[j - 1]!]! < gain[i]!) {
        order[j] = order[j - 1]!;
        j -= 1;
      }
      order[j] = i;
      unseeded += 1;
    }
    // Their bound per shard (weight × the shard's largest weight of the n-gram), shard-major so the
    // shard loop reads contiguous memory.
    if (shardBound.length < unseeded * S) shardBound = new Float64Array(unseeded * S * 2);
    shardTotal.fill(0);
    for (let i = 0; i < unseeded; i += 1) {
      const term = order[i]!;
      const w = weight[term]!;
      const row = gram[term]! * S;
      for (let s = 0; s < S; s += 1) {
        const b = w * shardMaxWeight[row + s]!;
        shardBound[s * unseeded + i] = b;
        shardTotal[s] = shardTotal[s]! + b;
      }
    }

    // 2. Shards nearest the keyword's norm first, where the best title most likely is.
    for (let s = 0; s < S; s += 1) {
      const middle = titleNorm[(shardStart[s]! + shardStart[s + 1]! - 1) >> 1]!;
      shardDistance[s] = Math.abs(Math.log(middle / norm));
      let j = s;
      while (j > 0 && shardDistance[shardOrder[j - 1]!]! > shardDistance[s]!) {
        shardOrder[j] = shardOrder[j - 1]!;
        j -= 1;
      }
      shardOrder[j] = s;
    }
    for (let o = 0; o < S; o += 1) {
      const s = shardOrder[o]!;
      // MaxScore: skip the n-grams whose bounds sum to `rest` < target. A title with none of the scanned
      // n-grams scores at most `rest`; a title with some scores at most acc + rest.
      const target = best - BOUND_SLACK;
      let rest = 0;
      let candidateCount = 0;
      const scan = shardTotal[s]! >= target;
      if (!scan) rest = shardTotal[s]!;
      else {
        const budget = SKIP_SHARE * target;
        const base = s * unseeded;
        let scanned = 0;
        for (let i = 0; i < unseeded; i += 1) {
          const bound = shardBound[base + i]!;
          if (bound === 0) continue;
          if (rest + bound < budget) rest += bound;
          else scannedTerms[scanned++] = order[i]!;
        }
        // A title can only win if its partial score reaches `bar`: collect titles as they cross it, so
        // the accumulation needs no per-title bookkeeping and the shard is cleared with one fill.
        const bar = best - rest - BOUND_SLACK;
        for (let k = 0; k < scanned; k += 1) {
          const term = scannedTerms[k]!;
          const w = weight[term]!;
          const bucket = gram[term]! * S + s;
          candidateCount = accumulateCrossing(
            postingTitle,
            postingWeight,
            postingStart[bucket]!,
            postingStart[bucket + 1]!,
            w,
            acc,
            bar,
            candidates,
            candidateCount,
          );
        }
      }
      // 3. Exact cosine for each title of the shard whose bound reaches the best so far.
      for (let i = seedShardStart[s]!; i < seedShardStart[s + 1]!; i += 1) {
        const t = seedByShard[i]!;
        if (acc[t]! + rest + BOUND_SLACK >= best) consider(t);
      }
      for (let i = 0; i < candidateCount; i += 1) {
        const t = candidates[i]!;
        if (acc[t]! + rest + BOUND_SLACK >= best) consider(t);
      }
      if (scan) acc.fill(0, shardStart[s]!, shardStart[s + 1]!);
    }

    for (let i = 0; i < touchedCount; i += 1) acc[touched[i]!] = 0;
    for (let i = 0; i < known; i += 1) {
      queryDense[gram[i]!] = 0;
      done[i] = 0;
    }
    return { title: bestTitle >= 0 ? catalogIndex[bestTitle]! : -1, score: Math.min(1, best) };
  };
}

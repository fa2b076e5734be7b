import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type CatalogTitle, type KeywordMatch, matchKeywords, type TitleIndex } from './matcher.ts';

export interface ParallelMatchOptions {
  threshold?: number;
  /**
   * Below this many keywords per thread, matching stays on the calling thread. Default: 10,000 while a
   * worker must start or index the catalog (~0.5 s), 2,000 once the workers hold this catalog.
   */
  minKeywordsPerWorker?: number;
  /** Threads to use in all, the calling one included; default: the machine's cores. */
  threads?: number;
  /** Called as each chunk is done, with its thread (0: the calling one) and keyword count. */
  onChunk?: (thread: number, keywords: number) => void;
}

// Chunk sizes: enough chunks to balance the threads, few enough that messages cost nothing.
const MIN_CHUNK = 250;
const MAX_CHUNK = 4_000;

/** A job for a match worker; `titles` comes with the first job of a catalog the worker has not indexed. */
export interface WorkerRequest {
  jobId: number;
  catalogId: number;
  titles?: readonly CatalogTitle[];
  keywords: readonly string[];
  threshold?: number;
}

export interface WorkerReply {
  jobId: number;
  matches: KeywordMatch[];
}

/**
 * Matches keywords on several cores: the calling thread and worker threads take chunks from one queue
 * until it is empty. Workers persist between calls (unreferenced while idle, so they never keep the
 * process alive) and keep the index of the last catalog, so later calls pay neither start-up nor index
 * build. Results equal `matchKeywords` on one thread, in the same order.
 */
export async function matchKeywordsInParallel(
  index: TitleIndex,
  titles: readonly CatalogTitle[],
  keywords: readonly string[],
  options: ParallelMatchOptions = {},
): Promise<KeywordMatch[]> {
  const catalogId = catalogIdOf(index);
  const threads = threadsFor(index, keywords.length, options);
  if (threads <= 1) return matchKeywords(index, keywords, { threshold: options.threshold });

  // A queue rather than one fixed share per thread: how hard a keyword is varies along the sorted list
  // (on a generated day the second half took 2.8x as long as the first), and a cold worker starts ~0.5 s
  // after the calling thread.
  const size = Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, Math.ceil(keywords.length / (threads * 16))));
  const chunks = Math.ceil(keywords.length / size);
  const results: KeywordMatch[][] = new Array(chunks);
  let next = 0;
  const take = (): number | undefined => (next < chunks ? next++ : undefined);
  const slice = (chunk: number) => keywords.slice(chunk * size, (chunk + 1) * size);
  const script = await workerScript();
  const fromWorkers = Array.from({ length: threads - 1 }, (_, slot) => {
    const worker = workerAt(slot, script);
    // Two jobs in flight: the worker starts its next chunk while this thread is busy with its own.
    const lane = async (): Promise<void> => {
      for (let chunk = take(); chunk !== undefined; chunk = take()) {
        const matches = await worker.match(catalogId, titles, slice(chunk), options.threshold);
        results[chunk] = matches;
        options.onChunk?.(slot + 1, matches.length);
      }
    };
    return Promise.all([lane(), lane()]);
  });
  // Awaited after this thread's share; handled now, so a worker failing meanwhile is not unhandled.
  const workersDone = Promise.all(fromWorkers);
  workersDone.catch(() => undefined);
  for (let chunk = take(); chunk !== undefined; chunk = take()) {
    const matches = matchKeywords(index, slice(chunk), { threshold: options.threshold });
    results[chunk] = matches;
    options.onChunk?.(0, matches.length);
    // Let worker replies in, so their next chunks go out before this thread takes another.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await workersDone;
  return results.flat();
}

/**
 * How many threads a call with this many keywords uses. Starting a worker and indexing the catalog
 * cost ~0.5 s, so cold workers are only worth it for big batches; warm ones pay off much sooner. The
 * calling thread works the queue meanwhile, so a cold worker pays once the batch is more than ~0.5 s of
 * single-thread work (~13k keywords at 38 µs), and a started worker stays warm for later dates.
 */
export function threadsFor(
  index: TitleIndex,
  keywordCount: number,
  options: ParallelMatchOptions = {},
): number {
  const catalogId = catalogIdOf(index);
  const most = options.threads ?? availableParallelism();
  const helpers = Array.from({ length: most - 1 }, (_, slot) => workers[slot]);
  const warm = helpers.every((w) => w !== undefined && !w.failed && w.indexedCatalog === catalogId);
  const minPerWorker = options.minKeywordsPerWorker ?? (warm ? 2_000 : 10_000);
  return Math.max(1, Math.min(most, Math.floor(keywordCount / minPerWorker)));
}

const catalogIds = new WeakMap<TitleIndex, number>();
let lastCatalogId = 0;

function catalogIdOf(index: TitleIndex): number {
  let id = catalogIds.get(index);
  if (id === undefined) {
    lastCatalogId += 1;
    id = lastCatalogId;
    catalogIds.set(index, id);
  }
  return id;
}

/** One persistent worker thread; jobs run one after another in the order sent. */
class MatchWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<
    number,
    { resolve: (m: KeywordMatch[]) => void; reject: (e: Error) => void }
  >();
  private lastJobId = 0;
  /** The catalog this worker indexed last (jobs run in order, so it holds it for the next job). */
  indexedCatalog = 0;
  failed = false;

  constructor(script: string) {
    this.worker = new Worker(script);
    this.worker.unref();
    this.worker.on('message', (reply: WorkerReply) => {
      this.pending.get(reply.jobId)?.resolve(reply.matches);
      this.pending.delete(reply.jobId);
      if (this.pending.size === 0) this.worker.unref();
    });
    const fail = (error: Error): void => {
      this.failed = true;
      for (const job of this.pending.values()) job.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`match worker exited with code ${code}`)));
  }

  match(
    catalogId: number,
    titles: readonly CatalogTitle[],
    keywords: readonly string[],
    threshold: number | undefined,
  ): Promise<KeywordMatch[]> {
    this.lastJobId += 1;
    const request: WorkerRequest = { jobId: this.lastJobId, catalogId, keywords, threshold };
    // Jobs run in order, so a catalog sent once stays the worker's catalog until another is sent.
    if (catalogId !== this.indexedCatalog) request.titles = titles;
    this.indexedCatalog = catalogId;
    return new Promise((resolve, reject) => {
      this.pending.set(request.jobId, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage(request);
    });
  }
}

const workers: MatchWorker[] = [];

function workerAt(slot: number, script: string): MatchWorker {
  let worker = workers[slot];
  if (worker === undefined || worker.failed) {
    worker = new MatchWorker(script);
    workers[slot] = worker;
  }
  return worker;
}

let bundled: Promise<string> | undefined;

/**
 * The worker as one plain JavaScript file: worker threads cannot load TypeScript through the loader
 * the CLI and tests use, so the entry is bundled with esbuild once per source version and cached.
 */
function workerScript(): Promise<string> {
  bundled ??= (async () => {
    const entry = fileURLToPath(new URL('./match-worker.ts', import.meta.url));
    const sources = await Promise.all(
      ['./match-worker.ts', './matcher.ts', './slug.ts', './parallel-match.ts'].map((f) =>
        readFile(fileURLToPath(new URL(f, import.meta.url))),
      ),
    );
    const digest = createHash('sha256').update(Buffer.concat(sources)).digest('hex').slice(0, 12);
    const dir = join(tmpdir(), 'lakehouse-explorer');
    const out = join(dir, `match-worker-${digest}.mjs`);
    if (!existsSync(out)) {
      await mkdir(dir, { recursive: true });
      const { build } = await import('esbuild');
      const partial = `${out}.${process.pid}.tmp`;
      await build({
        entryPoints: [entry],
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile: partial,
        logLevel: 'silent',
      });
      await rename(partial, out);
    }
    return out;
  })();
  bundled.catch(() => {
    bundled = undefined;
  });
  return bundled;
}

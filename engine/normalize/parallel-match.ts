import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { type SlugSearch, searchPart, searchSlugs, type TitleIndex } from './matcher.ts';

export interface ParallelMatchOptions {
  /**
   * Below this many slugs per thread, searching stays on the calling thread. Default: 10,000 while a
   * worker must start or receive the catalog's index, 2,000 once the workers hold it.
   */
  minSlugsPerWorker?: number;
  /** Threads to use in all, the calling one included; default: the machine's cores. */
  threads?: number;
  /** Called as each chunk is done, with its thread (0: the calling one) and slug count. */
  onChunk?: (thread: number, slugs: number) => void;
  /** Makes the worker's script; default {@link workerScript}. */
  workerScript?: () => Promise<string>;
  /**
   * Called when the worker's script cannot be made (no esbuild, an unwritable temp folder) or a worker
   * fails: its slugs are then searched on the calling thread, slower but with the same answers.
   */
  onWorkerUnavailable?: (error: Error) => void;
}

// Chunk sizes: enough chunks to balance the threads, few enough that messages cost nothing.
const MIN_CHUNK = 250;
const MAX_CHUNK = 4_000;

/** A job for a match worker; `index` comes with the first job of a catalog the worker does not hold. */
export interface WorkerRequest {
  jobId: number;
  catalogId: number;
  /** The catalog's index without its titles' text ({@link searchPart}), not indexed again there. */
  index?: TitleIndex;
  slugs: readonly string[];
}

/** A job's answer: two typed arrays, moved to the calling thread rather than copied. */
export interface WorkerReply extends SlugSearch {
  jobId: number;
}

/**
 * Searches slugs on several cores: the calling thread and worker threads take chunks from one queue
 * until it is empty. Workers persist between calls (unreferenced while idle, so they never keep the
 * process alive) and keep the index of the last catalog, so later calls pay neither start-up nor the
 * index's transfer. Results equal `searchSlugs` on one thread, in the same order.
 */
export async function searchSlugsInParallel(
  index: TitleIndex,
  slugs: readonly string[],
  options: ParallelMatchOptions = {},
): Promise<SlugSearch> {
  const catalogId = catalogIdOf(index);
  const threads = threadsFor(index, slugs.length, options);
  if (threads <= 1) return searchSlugs(index, slugs);

  // A queue rather than one fixed share per thread: how hard a slug is varies along the sorted list
  // (on a generated day the second half took 2.8x as long as the first), and a cold worker starts
  // after the calling thread.
  const size = Math.min(MAX_CHUNK, Math.max(MIN_CHUNK, Math.ceil(slugs.length / (threads * 16))));
  const chunks = Math.ceil(slugs.length / size);
  const found: SlugSearch = {
    title: new Int32Array(slugs.length),
    score: new Float64Array(slugs.length),
  };
  const keep = (chunk: number, part: SlugSearch): void => {
    found.title.set(part.title, chunk * size);
    found.score.set(part.score, chunk * size);
  };
  let next = 0;
  const take = (): number | undefined => (next < chunks ? next++ : undefined);
  const slice = (chunk: number) => slugs.slice(chunk * size, (chunk + 1) * size);
  let script: string;
  try {
    script = await (options.workerScript ?? workerScript)();
  } catch (error) {
    options.onWorkerUnavailable?.(error instanceof Error ? error : new Error(String(error)));
    return searchSlugs(index, slugs);
  }
  // A worker that fails (a crash, its script removed from the temp folder) hands its chunk back to this
  // thread, and the caller hears why: the answers are the same, only slower.
  const handedBack: number[] = [];
  let failure: Error | undefined;
  const fromWorkers = Array.from({ length: threads - 1 }, (_, slot) => {
    const worker = workerAt(slot, script);
    // Two jobs in flight: the worker starts its next chunk while this thread is busy with its own.
    const lane = async (): Promise<void> => {
      for (let chunk = take(); chunk !== undefined; chunk = take()) {
        let part: SlugSearch;
        try {
          part = await worker.search(catalogId, index, slice(chunk));
        } catch (error) {
          handedBack.push(chunk);
          failure ??= error instanceof Error ? error : new Error(String(error));
          return;
        }
        keep(chunk, part);
        options.onChunk?.(slot + 1, part.title.length);
      }
    };
    return Promise.all([lane(), lane()]);
  });
  const workersDone = Promise.all(fromWorkers);
  const takeHere = (): number | undefined => take() ?? handedBack.pop();
  const searchHere = (chunk: number): void => {
    const part = searchSlugs(index, slice(chunk));
    keep(chunk, part);
    options.onChunk?.(0, part.title.length);
  };
  for (let chunk = takeHere(); chunk !== undefined; chunk = takeHere()) {
    searchHere(chunk);
    // Let worker replies in, so their next chunks go out before this thread takes another.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await workersDone;
  // Chunks a worker failed on after this thread ran out of work.
  for (let chunk = takeHere(); chunk !== undefined; chunk = takeHere()) searchHere(chunk);
  if (failure) options.onWorkerUnavailable?.(failure);
  return found;
}

/**
 * How many threads a call with this many slugs uses. A cold worker costs start-up and the index's
 * transfer, so it is only worth it for big batches; warm ones pay off much sooner. The calling thread
 * works the queue meanwhile, and a started worker stays warm for later dates.
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
  const minPerWorker = options.minSlugsPerWorker ?? (warm ? 2_000 : 10_000);
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
    { resolve: (found: SlugSearch) => void; reject: (e: Error) => void }
  >();
  private lastJobId = 0;
  /** The catalog whose index this worker was sent last (jobs run in order, so it holds it for the next job). */
  indexedCatalog = 0;
  failed = false;

  constructor(readonly script: string) {
    this.worker = new Worker(script);
    this.worker.unref();
    this.worker.on('message', (reply: WorkerReply) => {
      this.pending.get(reply.jobId)?.resolve(reply);
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

  stop(): void {
    void this.worker.terminate();
  }

  search(catalogId: number, index: TitleIndex, slugs: readonly string[]): Promise<SlugSearch> {
    this.lastJobId += 1;
    const request: WorkerRequest = { jobId: this.lastJobId, catalogId, slugs };
    // Jobs run in order, so a catalog sent once stays the worker's catalog until another is sent.
    if (catalogId !== this.indexedCatalog) request.index = portableIndex(index);
    this.indexedCatalog = catalogId;
    return new Promise((resolve, reject) => {
      this.pending.set(request.jobId, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage(request);
    });
  }
}

const workers: MatchWorker[] = [];

// One search part per index, so every worker is sent the same object (made once, not per worker).
const portable = new WeakMap<TitleIndex, TitleIndex>();

function portableIndex(index: TitleIndex): TitleIndex {
  let part = portable.get(index);
  if (part === undefined) {
    part = searchPart(index);
    portable.set(index, part);
  }
  return part;
}

function workerAt(slot: number, script: string): MatchWorker {
  let worker = workers[slot];
  if (worker === undefined || worker.failed || worker.script !== script) {
    // An idle worker of another script (another version of the sources) is let go.
    worker?.stop();
    worker = new MatchWorker(script);
    workers[slot] = worker;
  }
  return worker;
}

/**
 * The files the worker is bundled from (its entry first), found next to this module when no
 * {@link PREBUILT_WORKER} is there: the CLI and tests run from the sources.
 */
export const WORKER_SOURCES = ['match-worker.ts', 'matcher.ts', 'slug.ts', 'parallel-match.ts'] as const;

/**
 * The worker already bundled, next to this module in a build that made it (scripts/build-electron.ts): a
 * packaged app cannot bundle at run time, since esbuild's program would have to run from inside app.asar.
 */
export const PREBUILT_WORKER = 'match-worker.mjs';

/**
 * The worker as one plain JavaScript file on disk: worker threads cannot load TypeScript through the
 * loader the CLI and tests use, and a packaged app's files sit in an archive a worker cannot start from.
 * Cached in the temp folder by content; looked for at each call (a few small reads), so a file the
 * system's clean-up removed while a desktop app kept running is made again.
 */
export function workerScript(): Promise<string> {
  return workerScriptBeside(import.meta.url);
}

/**
 * The worker's script for a module at `moduleUrl`: its prebuilt bundle when one is beside it, copied out;
 * else bundled from the sources beside it. Either lands in the temp folder under a digest of what it was
 * made from, so a newer version never runs an older worker.
 */
export async function workerScriptBeside(moduleUrl: string | URL): Promise<string> {
  const beside = (file: string) => fileURLToPath(new URL(`./${file}`, moduleUrl));
  const prebuilt = beside(PREBUILT_WORKER);
  if (existsSync(prebuilt)) {
    const text = await readFile(prebuilt, 'utf8');
    return cachedScript(text, (partial) => writeFile(partial, text));
  }
  const texts = await readWorkerSources(dirname(prebuilt));
  return cachedScript([...texts.values()].join(''), (partial) => bundleWorker(texts, partial));
}

/**
 * The worker's sources in folder `dir`, by file name ({@link WORKER_SOURCES}, the entry first), as
 * {@link bundleWorker} takes them; names the first that cannot be read.
 */
export async function readWorkerSources(dir: string): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const file of WORKER_SOURCES) {
    try {
      texts.set(file, await readFile(join(dir, file), 'utf8'));
    } catch (error) {
      throw new Error(
        `the match worker cannot be made: neither ${join(dir, PREBUILT_WORKER)} nor its source ${file} is readable (${(error as Error).message})`,
      );
    }
  }
  return texts;
}

/** `tmp/lakehouse-explorer/match-worker-<digest of made-from>.mjs`, written by `make` when absent. */
async function cachedScript(madeFrom: string, make: (file: string) => Promise<void>): Promise<string> {
  const digest = createHash('sha256').update(madeFrom).digest('hex').slice(0, 12);
  const dir = join(tmpdir(), 'lakehouse-explorer');
  const out = join(dir, `match-worker-${digest}.mjs`);
  if (!existsSync(out)) {
    await mkdir(dir, { recursive: true });
    // Written aside and renamed: a worker starting meanwhile never sees half a file, and two makers at
    // once (two processes, or two calls of one) each write their own.
    const partial = `${out}.${process.pid}-${randomUUID()}.tmp`;
    await make(partial);
    await rename(partial, out);
  }
  return out;
}

/**
 * Bundles the worker from its sources' text (file name → TypeScript, the entry first in WORKER_SOURCES) into
 * `outfile`. esbuild is given the text, not the files: it is a program of its own, and cannot read inside the
 * archive (app.asar) a packaged Electron app keeps them in, as Node's fs can.
 */
export async function bundleWorker(texts: ReadonlyMap<string, string>, outfile: string): Promise<void> {
  const { build } = await import('esbuild');
  const entry = WORKER_SOURCES[0];
  const contents = texts.get(entry);
  if (contents === undefined) throw new Error(`the worker's entry ${entry} is missing`);
  await build({
    stdin: { contents, loader: 'ts', sourcefile: entry },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    logLevel: 'silent',
    plugins: [
      {
        name: 'worker-sources',
        setup(builder) {
          builder.onResolve({ filter: /^\.\// }, (args) => ({
            path: args.path.slice(2),
            namespace: 'worker-source',
          }));
          builder.onLoad({ filter: /.*/, namespace: 'worker-source' }, (args) => {
            const text = texts.get(args.path);
            if (text === undefined)
              return {
                errors: [{ text: `${args.path} is imported by the worker but not in WORKER_SOURCES` }],
              };
            return { contents: text, loader: 'ts' };
          });
        },
      },
    ],
  });
}

// Worker-thread entry of the parallel matcher: builds its own index from the catalog (fast) and matches
// its share of the keywords. Bundled to plain JavaScript before use (see parallel-match.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { buildTitleIndex, type CatalogTitle, matchKeywords } from './matcher.ts';

interface Job {
  titles: CatalogTitle[];
  keywords: string[];
  threshold?: number;
}

const job = workerData as Job;
const index = buildTitleIndex(job.titles);
parentPort?.postMessage(matchKeywords(index, job.keywords, { threshold: job.threshold }));

// Worker-thread entry of the parallel matcher. It lives across calls: it keeps the index of the last
// catalog it was sent (built here, fast) and its optimised code, so only the first call pays for them.
// Bundled to plain JavaScript before use (see parallel-match.ts).
import { parentPort } from 'node:worker_threads';
import { buildTitleIndex, matchKeywords, type TitleIndex } from './matcher.ts';
import type { WorkerReply, WorkerRequest } from './parallel-match.ts';

let catalog: { id: number; index: TitleIndex } | undefined;

parentPort?.on('message', (request: WorkerRequest) => {
  if (request.titles !== undefined)
    catalog = { id: request.catalogId, index: buildTitleIndex(request.titles) };
  if (catalog?.id !== request.catalogId) throw new Error(`match worker has no catalog ${request.catalogId}`);
  const reply: WorkerReply = {
    jobId: request.jobId,
    matches: matchKeywords(catalog.index, request.keywords, { threshold: request.threshold }),
  };
  parentPort?.postMessage(reply);
});

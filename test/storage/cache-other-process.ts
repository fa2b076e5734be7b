// Another process fetching into a shared s3.cache_dir (the CLI beside the app, another project's run):
// run-ts cache-other-process.ts <cache dir> <max bytes> <endpoint> <bucket> <key>. AWS keys from the environment.
import { createObjectCache } from '../../engine/storage/object-cache.ts';
import { createS3Client } from '../../engine/storage/s3-client.ts';
import { listObjects } from '../../engine/storage/s3-objects.ts';

const [dir, maxBytes, endpoint, bucket, key] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const client = createS3Client({ endpoint });
const objects = (await listObjects(client, bucket, key)).objects.filter((o) => o.key === key);
const cache = createObjectCache(() => client, { dir, maxBytes: Number(maxBytes) });
const [file] = await cache.fetch(objects);
console.log(file);

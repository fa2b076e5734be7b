// Run by download-cache.test.ts in a child process it kills: downloads one big warehouse object into
// the local cache, as a publish does before DuckDB reads a published file back.
import { createS3FileIO } from '../../../engine/publish/iceberg/file-io.ts';

const [endpoint, uri, cacheDir] = process.argv.slice(2);
const io = createS3FileIO('s3://cache-test/wh', { endpoint: endpoint!, region: 'us-east-1' }, cacheDir!);
await io.readablePath(uri!);

// Run by exclusive-create.test.ts in a child process it kills: commits one big file through a local
// warehouse's createExclusive, as the file-system catalog commits vN.metadata.json.
import { createLocalFileIO } from '../../../engine/publish/iceberg/file-io.ts';

const [warehouse, uri, size] = process.argv.slice(2);
const io = createLocalFileIO(warehouse!);
await io.createExclusive(uri!, Buffer.alloc(Number(size), 'x'));

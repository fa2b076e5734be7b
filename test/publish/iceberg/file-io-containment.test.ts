import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileSystemCatalog } from '../../../engine/publish/iceberg/catalogs/fs-catalog.ts';
import { createLocalFileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { lakehouseFailure } from '../../helpers/errors.ts';
import { removeDir, tempDir } from '../../helpers/project.ts';

// Iceberg metadata names absolute URIs (a table's location, its data files). Whoever can write a
// metadata file into the warehouse chooses them, so a local warehouse must stay inside its folder.
let work: string;
let warehouse: string;
let outside: string;
beforeAll(async () => {
  work = await tempDir('iceberg-file-io-containment-');
  warehouse = join(work, 'wh');
  outside = join(work, 'elsewhere');
  await mkdir(warehouse, { recursive: true });
  await mkdir(outside, { recursive: true });
  await writeFile(join(outside, 'secret.txt'), 'not the warehouse');
});
afterAll(() => removeDir(work));

describe('a local warehouse FileIO', () => {
  const base = () => pathToFileURL(warehouse).href;

  it.each([
    ['a file: URI elsewhere', () => pathToFileURL(join(outside, 'x.parquet')).href],
    ['a warehouse URI climbing out with ..', () => `${base()}/../elsewhere/x.parquet`],
    ['a file: URI climbing out with ..', () => `${base()}/gold/t/../../../elsewhere/x.parquet`],
  ])('refuses to write, read or delete %s', async (_case, uriOf) => {
    const io = createLocalFileIO(warehouse);
    const uri = uriOf();
    const attempts: (() => Promise<unknown>)[] = [
      () => io.write(uri, 'x'),
      () => io.createExclusive(uri, 'x'),
      () => io.readIfExists(uri),
      () => io.delete([uri]),
      async () => io.localPath(uri),
    ];
    for (const attempt of attempts) {
      const failure = await lakehouseFailure(Promise.resolve().then(attempt));
      expect(failure.code).toBe('ICEBERG_INVALID');
      expect(failure.message).toContain('is outside the warehouse');
    }
    expect((await readdir(outside)).sort()).toEqual(['secret.txt']);
  });

  it('still reads and writes its own files, by warehouse URI or file: URI', async () => {
    const io = createLocalFileIO(warehouse);
    await io.write(`${base()}/gold/t/metadata/version-hint.text`, '1');
    const asFileUri = pathToFileURL(join(warehouse, 'gold', 't', 'metadata', 'version-hint.text')).href;
    expect((await io.read(asFileUri)).toString()).toBe('1');
  });

  it('does not commit into the folder a planted metadata file names as the table location', async () => {
    const io = createLocalFileIO(warehouse);
    const catalog = createFileSystemCatalog(io, 'planted');
    const planted = join(warehouse, 'gold', 'victim', 'metadata');
    await mkdir(planted, { recursive: true });
    const metadata = {
      'format-version': 2,
      'table-uuid': '5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f',
      location: pathToFileURL(outside).href,
      'last-sequence-number': 0,
      'last-updated-ms': 0,
      'last-column-id': 1,
      'current-schema-id': 0,
      schemas: [
        { type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'k', required: false, type: 'int' }] },
      ],
      'default-spec-id': 0,
      'partition-specs': [{ 'spec-id': 0, fields: [] }],
      'last-partition-id': 999,
      'default-sort-order-id': 0,
      'sort-orders': [{ 'order-id': 0, fields: [] }],
      properties: {},
      snapshots: [],
      refs: {},
      'snapshot-log': [],
      'metadata-log': [],
      'current-snapshot-id': -1,
    };
    await writeFile(join(planted, 'v1.metadata.json'), JSON.stringify(metadata));
    const base = await catalog.load('gold', 'victim');
    expect(base?.metadata.location).toBe(pathToFileURL(outside).href);
    if (!base) throw new Error('the planted table should load');
    const snapshot = {
      'snapshot-id': 1n,
      'sequence-number': 1,
      'timestamp-ms': 0,
      'manifest-list': `${pathToFileURL(outside).href}/metadata/snap-1.avro`,
      summary: { operation: 'append' as const },
      'schema-id': 0,
    };
    const failure = await lakehouseFailure(
      catalog.commit('gold', 'victim', base, base.metadata, { snapshot }),
    );
    expect(failure.code).toBe('ICEBERG_INVALID');
    expect((await readdir(outside)).sort()).toEqual(['secret.txt']);
  });
});

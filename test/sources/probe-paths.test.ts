import { mkdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LakehouseError } from '../../engine/api/errors.ts';
import { loadProject, type Project } from '../../engine/project/config.ts';
import { probeSource } from '../../engine/sources/probe.ts';
import { saveSource } from '../../engine/sources/save.ts';
import { createS3Client } from '../../engine/storage/s3-client.ts';
import { removeDir, tempDir } from '../helpers/project.ts';
import { events, writeCatalog, writeDay } from '../helpers/source-files.ts';
import { type S3Server, startS3Server, uploadTree, useS3rverCredentials } from '../storage/s3-helpers.ts';

// Paths typed into the app's Sources form that miss what they mean: the test says what is there and
// what to give instead, and a save refuses a path that can never be read.

let work: string;
let project: Project;
let logs: string;
beforeAll(async () => {
  work = await tempDir('lakehouse-probe-paths-');
  logs = join(work, 'raw data', 'logs é');
  await writeDay(logs, '20220601', events(3));
  await mkdir(join(work, 'flat'));
  await writeDay(work, 'flat', events(3));
  await writeDay(join(work, 'dashed'), '2022-06-01', events(3));
  await writeCatalog(join(work, 'titles.csv'));
  await writeFile(
    join(work, 'lakehouse.yaml'),
    'name: paths\nsources:\n  titles: {kind: file, path: titles.csv}\n',
  );
  project = await loadProject(work);
}, 60_000);
afterAll(() => removeDir(work));

const probe = (source: Record<string, unknown>) => probeSource(project, { source });

describe('testing a source path', () => {
  it('of a folder for a file source fails naming the folder and the setting, not an internal EISDIR', async () => {
    const result = await probe({ kind: 'file', path: logs });
    expect(result.error?.code).toBe('SOURCE_MISSING');
    expect(result.summary).toContain(
      `${logs} is a folder, and a file source is one CSV, Parquet or JSON file`,
    );
  });

  it.each([
    ['file', '~/titles.csv', join(homedir(), 'titles.csv')],
    ['daily_parquet', '~/raw/logs', join(homedir(), 'raw', 'logs')],
  ])(
    'of a %s source starting with ~ says it is not expanded, and the full path to write',
    async (kind, path, full) => {
      const result = await probe({ kind, path });
      expect(result.error?.code).toBe('INVALID_ARGUMENT');
      expect(result.summary).toContain(`"${path}" starts with ~`);
      expect(result.summary).toContain(full);
      const refused = await saveSource(project, {
        name: 'home',
        source: { kind, path },
        replace: false,
      }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(LakehouseError);
      expect((refused as LakehouseError).details.field).toBe('source.path');
    },
  );

  it('of a file source given as a pattern says the pattern is read as a name', async () => {
    const result = await probe({ kind: 'file', path: join(work, '*.csv') });
    expect(result.summary).toBe(
      `Source "<name>": file ${join(work, '*.csv')} does not exist. Check sources.<name>.path in lakehouse.yaml. ` +
        'A file source reads one file, and * ? [ are read as part of its name, not as a pattern: give one file (or join the parts into one).',
    );
  });

  it('of a day folder for a daily source names the folder holding it', async () => {
    const result = await probe({ kind: 'daily_parquet', path: join(logs, '20220601') });
    expect(result.error?.code).toBe('SOURCE_MISSING');
    expect(result.summary).toContain(`It is a day folder itself: give the folder that holds it, ${logs}.`);
  });

  it('of a folder one level above the day folders names the subfolder holding them', async () => {
    const result = await probe({ kind: 'daily_parquet', path: join(work, 'raw data') });
    expect(result.summary).toContain(`${logs} has them: give that folder.`);
  });

  it('of a folder of Parquet files with no day folders says to put them in day folders', async () => {
    const result = await probe({ kind: 'daily_parquet', path: join(work, 'flat') });
    expect(result.summary).toContain('It holds Parquet files directly');
  });

  it('of day folders named in another common way names the date_format to set', async () => {
    const result = await probe({ kind: 'daily_parquet', path: join(work, 'dashed') });
    expect(result.summary).toContain('Its folders are named like 2022-06-01: set date_format to %Y-%m-%d');
  });

  it.each([
    ['%Y%m', 'must hold %Y, %m and %d once each'],
    ['YYYY-MM-DD', 'must hold %Y, %m and %d once each'],
    ['%Y-%m-%d/%H', 'has %H, which a day folder'],
  ])('with date_format %s is refused saying what a day folder format holds', async (date_format, said) => {
    const source = { kind: 'daily_parquet', path: join(work, 'dashed'), date_format };
    const result = await probe(source);
    expect(result.error?.code).toBe('INVALID_ARGUMENT');
    expect(result.summary).toContain(`source.date_format: "${date_format}" ${said}`);
    const refused = await saveSource(project, { name: 'days', source, replace: false }).catch(
      (e: unknown) => e,
    );
    expect((refused as LakehouseError).details.field).toBe('source.date_format');
  });

  it('with spaces and accents reads the days', async () => {
    const result = await probe({ kind: 'daily_parquet', path: logs });
    expect(result.ok).toBe(true);
    expect(result.dates).toEqual(['2022-06-01']);
  });
});

describe('testing a file source on S3', () => {
  let s3: S3Server;
  beforeAll(async () => {
    useS3rverCredentials();
    s3 = await startS3Server(['raw']);
    await mkdir(join(work, 'tree', 'catalogs'), { recursive: true });
    await writeCatalog(join(work, 'tree', 'catalogs', 'titles.csv'));
    await uploadTree(createS3Client({ endpoint: s3.endpoint }), join(work, 'tree'), 'raw', 'ref data');
  }, 60_000);
  afterAll(() => s3?.close());

  const probeS3 = (path: string) =>
    probeSource(project, {
      source: { kind: 'file', path },
      s3: { endpoint: s3.endpoint, region: 'us-east-1' },
    });

  it.each(['s3://raw/ref data/catalogs', 's3://raw/ref data/catalogs/'])(
    'of a prefix holding objects (%s) says it is a folder, not that it does not exist',
    async (path) => {
      const result = await probeS3(path);
      expect(result.error?.code).toBe('SOURCE_MISSING');
      expect(result.summary).toContain(`${path} is a folder (a prefix of objects), and a file source is one`);
    },
  );

  it('of an object reads its columns, and of a missing one says so naming the setting', async () => {
    expect((await probeS3('s3://raw/ref data/catalogs/titles.csv')).summary).toContain(
      'reads title VARCHAR, genres VARCHAR',
    );
    expect((await probeS3('s3://raw/ref data/catalogs/nope.csv')).summary).toBe(
      'Source "<name>": object s3://raw/ref data/catalogs/nope.csv does not exist. Check sources.<name>.path in lakehouse.yaml.',
    );
  });
});

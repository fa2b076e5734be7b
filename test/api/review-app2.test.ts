import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsoDate } from '../../engine/api/contract.ts';
import { createDispatcher, type Dispatcher } from '../../engine/api/dispatcher.ts';
import { describeRun, runOfDates } from '../../engine/api/errors.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { initProject } from '../../engine/project/init.ts';
import { type RunningServer, startServer } from '../../server/http-server.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

describe('IsoDate', () => {
  it('takes the calendar dates of years 0-99, which Date.UTC read as 1900-1999', () => {
    for (const date of ['0050-01-01', '0000-01-01', '0099-12-31', '0000-02-29', '0004-02-29'])
      expect(IsoDate.safeParse(date).success, date).toBe(true);
    // Still checked as calendar dates: 50 and 100 are no leap years, 0 and 4 are (proleptic Gregorian).
    for (const date of ['0050-02-29', '0100-02-29', '0001-13-01', '0010-04-31'])
      expect(IsoDate.safeParse(date).success, date).toBe(false);
  });
});

describe('describeRun', () => {
  const days = (from: string, count: number) =>
    Array.from({ length: count }, (_, i) =>
      new Date(Date.parse(`${from}T00:00:00Z`) + i * 86_400_000).toISOString().slice(0, 10),
    );

  it('says the 39 other dates of a 40-date project as two ranges, not one by one', () => {
    const others = days('2022-06-01', 40).filter((d) => d !== '2022-06-20');
    const run = runOfDates(others, ['silver.customer_search+']);
    // The exact dates stay in the run a message's details carry.
    expect(run.dates).toEqual(others);
    expect(describeRun(run)).toBe(
      '2022-06-01 .. 2022-06-19, 2022-06-21 .. 2022-07-10 (model silver.customer_search+)',
    );
  });

  it('lists a few scattered dates as they are and counts the rest', () => {
    expect(describeRun(runOfDates(['2022-06-01', '2022-06-02', '2022-06-04']))).toBe(
      '2022-06-01, 2022-06-02, 2022-06-04',
    );
    const everyOther = days('2022-06-01', 40).filter((_, i) => i % 2 === 0);
    expect(describeRun(runOfDates(everyOther))).toBe(
      '2022-06-01, 2022-06-03, 2022-06-05, 2022-06-07 and 16 more dates up to 2022-07-09',
    );
    expect(describeRun(runOfDates([...days('2022-06-01', 10), ...everyOther.slice(6)]))).toBe(
      '2022-06-01 .. 2022-06-10, 2022-06-13, 2022-06-15, 2022-06-17 and 11 more dates up to 2022-07-09',
    );
  });
});

// The contract takes a model text and its base of up to 1,000,000 characters each: the server must take the
// body that carries them, at its largest (every character escaped as \uXXXX in the JSON).
describe('browser mode: the largest model.apply the contract accepts', () => {
  let work: string;
  let engine: Engine;
  let dispatcher: Dispatcher;
  let server: RunningServer;

  beforeAll(async () => {
    work = await tempDir('lakehouse-review-app2-');
    await initProject({ dir: join(work, 'project'), example: 'customer-search', source: join(work, 'none') });
    engine = await createEngine({ projectDir: join(work, 'project') });
    dispatcher = createDispatcher(engine);
    const staticDir = join(work, 'static');
    await mkdir(staticDir, { recursive: true });
    await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Lakehouse Explorer</title>');
    server = await startServer({ dispatcher, staticDir });
  });
  afterAll(async () => {
    await server?.close();
    await dispatcher?.close();
    engine?.close();
    if (work) await removeDir(work);
  });

  it('reaches the engine, which answers the stale base, instead of a 413', async () => {
    const file = join(work, 'project', 'models', 'gold', 'dim_date.sql');
    const before = await readFile(file, 'utf8');
    const filler = '\u0001'.repeat(1_000_000 - 20);
    const body = JSON.stringify({
      model: 'gold.dim_date',
      text: `SELECT 1 AS x -- ${filler}`.slice(0, 1_000_000),
      base: filler,
    });
    expect(body.length).toBeGreaterThan(11_000_000);
    const response = await fetch(`${server.origin}/rpc/model.apply`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${server.token}` },
      body,
    });
    const error = (await response.json()) as { code: string; message: string };
    expect(response.status, error.message).not.toBe(413);
    // The base is not the file's text: refused, the file left as it was.
    expect(error.code).not.toBe('INVALID_ARGUMENT');
    expect(await readFile(file, 'utf8')).toBe(before);
  });
});

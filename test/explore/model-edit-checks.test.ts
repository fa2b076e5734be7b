import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDispatcher, type Dispatcher } from '../../engine/api/dispatcher.ts';
import { createInProcessTransport } from '../../engine/api/in-process-transport.ts';
import { createEngine, type Engine } from '../../engine/engine.ts';
import { previewModel } from '../../engine/explore/model-edit.ts';
import { type Client, createClient } from '../../renderer/src/api/client.ts';
import { rejection } from '../helpers/api.ts';
import { generatedProject, removeDir, tempDir } from '../helpers/project.ts';

// The model editor's engine side on a generated project of two days run once: Preview refuses what
// Save & run refuses, and the last version that ran is known from the warehouse after a restart.

const FACT = 'gold.fact_customer_search';
const PLATFORM = 'gold.dim_platform';

let work: string;
let projectDir: string;
let engine: Engine;
let dispatcher: Dispatcher;
let client: Client;

async function open(): Promise<void> {
  engine = await createEngine({ projectDir });
  dispatcher = createDispatcher(engine);
  client = createClient(createInProcessTransport(dispatcher));
  await client.ready();
}

async function close(): Promise<void> {
  client?.close();
  await dispatcher?.close();
  engine?.close();
}

beforeAll(async () => {
  work = await tempDir('lakehouse-model-edit-checks-');
  ({ dir: projectDir } = await generatedProject(work, 2, 200));
  await open();
  expect((await engine.run({})).status).toBe('success');
});

afterAll(async () => {
  await close();
  if (work) await removeDir(work);
});

const fileOf = (model: string) => {
  const [layer, name] = model.split('.');
  return join(projectDir, 'models', layer!, `${name}.sql`);
};

describe('model.preview', () => {
  it('refuses a header naming a column the SQL does not output, as model.apply does', async () => {
    const text = (await readFile(fileOf(PLATFORM), 'utf8')).replace(
      'unique_key: platform\n',
      'unique_key: platfrom\n',
    );
    const line = text.split('\n').indexOf('unique_key: platfrom') + 1;
    const previewed = await rejection(client.call('model.preview', { model: PLATFORM, text, limit: 5 }));
    const applied = await rejection(client.call('model.apply', { model: PLATFORM, text }));
    expect(previewed).toMatchObject({
      code: 'MODEL_INVALID',
      details: { file: 'models/gold/dim_platform.sql', line, field: 'unique_key', column: 'platfrom' },
    });
    expect(previewed.message).toMatch(
      new RegExp(`^models/gold/dim_platform\\.sql:${line}: unique_key names the column "platfrom"`),
    );
    expect(previewed.message).toBe(applied.message);
    expect(previewed.details).toEqual(applied.details);
  });

  it('refuses an edit that makes a cycle, as model.apply does', async () => {
    // The fact reads the platform dimension: the dimension reading the fact closes a cycle.
    const text = (await readFile(fileOf(PLATFORM), 'utf8')).replace(
      'AND platform IS NOT NULL',
      'AND platform IS NOT NULL AND NOT EXISTS (SELECT 1 FROM gold.fact_customer_search WHERE false)',
    );
    const previewed = await rejection(client.call('model.preview', { model: PLATFORM, text, limit: 5 }));
    const applied = await rejection(client.call('model.apply', { model: PLATFORM, text }));
    expect(applied.code).toBe('MODEL_CYCLE');
    expect(previewed).toMatchObject({ code: applied.code, message: applied.message });
  });

  it('stops before its query when cancelled while it checks the edit', async () => {
    // An interrupt landing between the checks' short statements stops none of them, nor the query after.
    const text = await readFile(fileOf(PLATFORM), 'utf8');
    let asked = 0;
    const wanted = () => {
      asked += 1;
      return false;
    };
    const stopped = await rejection(
      previewModel(engine, { model: PLATFORM, text, limit: 5 }, engine.reader, wanted),
    );
    expect(stopped).toMatchObject({ code: 'QUERY_CANCELLED', message: 'The preview was cancelled.' });
    expect(asked).toBe(1);
  });
});

describe('model.source', () => {
  it('offers the last version that ran after a failed Save & run, also after a restart, until one runs', async () => {
    const good = await readFile(fileOf(FACT), 'utf8');
    expect((await client.call('model.source', { model: FACT })).restorable).toBeNull();
    const broken = good.replace(/^(\s*)e\.user_id,$/m, '$1NULL::VARCHAR AS user_id,');
    expect(broken).not.toBe(good);
    const started = await client.call('model.apply', { model: FACT, text: broken });
    expect((await client.call('model.diff', { runId: started.runId })).status).toBe('failed');
    const offered = {
      text: good,
      runId: expect.any(String),
      failedRunId: started.runId,
      error: expect.stringContaining('gold.fact_customer_search failed on'),
    };
    expect((await client.call('model.source', { model: FACT })).restorable).toEqual(offered);

    // The app closed and opened again: the page's memory is gone, the warehouse still knows.
    await close();
    await open();
    const source = await client.call('model.source', { model: FACT });
    expect(source.text).toBe(broken);
    expect(source.restorable).toEqual(offered);

    // A file changed outside since is not what failed: nothing to offer over it.
    await writeFile(fileOf(FACT), `${broken}\n`);
    expect((await client.call('model.source', { model: FACT })).restorable).toBeNull();
    await writeFile(fileOf(FACT), broken);

    const restored = await client.call('model.apply', { model: FACT, text: offered.text });
    expect((await client.call('model.diff', { runId: restored.runId })).status).toBe('success');
    expect((await client.call('model.source', { model: FACT })).restorable).toBeNull();
    expect(await readFile(fileOf(FACT), 'utf8')).toBe(good);
  });
});

describe('model.apply', () => {
  it('takes the file before a save as the last version that ran in a warehouse that recorded none', async () => {
    // As a warehouse built before runs recorded model texts: its latest run of the model succeeded.
    await engine.db.run(`DELETE FROM _lakehouse.model_texts WHERE model = '${FACT}'`);
    const good = await readFile(fileOf(FACT), 'utf8');
    const broken = good.replace(/^(\s*)e\.user_id,$/m, '$1NULL::VARCHAR AS user_id,');
    const started = await client.call('model.apply', { model: FACT, text: broken });
    expect((await client.call('model.diff', { runId: started.runId })).status).toBe('failed');
    expect((await client.call('model.source', { model: FACT })).restorable?.text).toBe(good);
    const restored = await client.call('model.apply', { model: FACT, text: good });
    expect((await client.call('model.diff', { runId: restored.runId })).status).toBe('success');
  });

  it('leaves the file as it was when the run is refused before anything runs', async () => {
    const file = fileOf(PLATFORM);
    const before = await readFile(file, 'utf8');
    const edited = before.replace('SELECT DISTINCT', '-- a date with no source data\nSELECT DISTINCT');
    const refused = await rejection(
      client.call('model.apply', { model: PLATFORM, text: edited, dates: ['2030-01-01'] }),
    );
    expect(refused.message).toContain('2030-01-01');
    expect(await readFile(file, 'utf8')).toBe(before);
    // The engine reads the file as it is again: the next save from the same base is no conflict.
    expect((await client.call('model.source', { model: PLATFORM })).text).toBe(before);
    const started = await client.call('model.apply', { model: PLATFORM, text: edited, base: before });
    expect((await client.call('model.diff', { runId: started.runId })).status).toBe('success');
    expect(await readFile(file, 'utf8')).toBe(edited);
  });
});

describe('model.diff', () => {
  it('counts a row changed by its values, not by a column type the run changed', async () => {
    // hash() tells 2022 from 2022.0: a retyped column counted every row changed, naming no column.
    const DATE_DIM = 'gold.dim_date';
    const text = await readFile(fileOf(DATE_DIM), 'utf8');
    // Keyed, so rows are compared by key and column (without a key a row differs whole).
    const keyed = text.replace('role: dimension\n', 'role: dimension\nunique_key: date_key\n');
    const retyped = keyed
      .replace('year(d)::INTEGER AS year', 'year(d)::DOUBLE AS year')
      .replace('quarter(d)::INTEGER AS quarter', 'quarter(d)::VARCHAR AS quarter');
    expect(retyped).toContain('::DOUBLE AS year');
    expect(retyped).toContain('unique_key: date_key');
    const same = await client.call('model.apply', { model: DATE_DIM, text: retyped });
    const sameDiff = (await client.call('model.diff', { runId: same.runId })).tables[0];
    expect(sameDiff).toMatchObject({
      ...{ table: DATE_DIM, key: ['date_key'], added: 0, removed: 0 },
      ...{ changed: 0, changedColumns: {}, changedExamples: [] },
    });
    expect(sameDiff?.columnTypes).toMatchObject({ year: 'DOUBLE', quarter: 'VARCHAR' });
    // The type change itself is said, once, apart from the values.
    expect(sameDiff?.retypedColumns).toEqual({
      year: { before: 'INTEGER', after: 'DOUBLE' },
      quarter: { before: 'INTEGER', after: 'VARCHAR' },
    });
    // A value that changed with its type is named, and only it: 5 and 5.5, not '1' and 1.
    const moved = await client.call('model.apply', {
      model: DATE_DIM,
      text: keyed.replace('day(d)::INTEGER AS day', '(day(d) + 0.5)::DOUBLE AS day'),
      base: retyped,
    });
    const movedDiff = (await client.call('model.diff', { runId: moved.runId })).tables[0];
    expect(movedDiff?.changed).toBe(movedDiff?.rowsAfter);
    expect(movedDiff?.changedColumns).toEqual({ day: movedDiff?.rowsAfter });
    expect(movedDiff?.changedExamples.map((e) => e.columns)).toEqual(Array(5).fill(['day']));
    const restored = await client.call('model.apply', {
      model: DATE_DIM,
      text,
      base: await readFile(fileOf(DATE_DIM), 'utf8'),
    });
    expect((await client.call('model.diff', { runId: restored.runId })).status).toBe('success');
  });
});

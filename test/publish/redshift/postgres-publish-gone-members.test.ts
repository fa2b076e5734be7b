import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../../engine/engine.ts';
import { publishRedshift, type RedshiftPublishOptions } from '../../../engine/publish/redshift/publish.ts';
import { type PostgresServer, startPostgres } from '../../helpers/postgres.ts';
import { generatedProject, removeDir, tempDir } from '../../helpers/project.ts';

// Rows gone locally from a table the publish stages whole: an scd1 dimension rebuilt (`lakehouse drop
// --rebuild`, then a run) without a member, an append table with no date key whose re-run date lost an
// event. The target's copies must go too, after the fact rows pointing at them were replaced.

let server: PostgresServer;
let work: string;
let projectDir: string;
let dates: string[];

beforeAll(async () => {
  work = await tempDir('lakehouse-redshift-gone-');
  const [started, project] = await Promise.all([startPostgres(), generatedProject(work, 2, 50)]);
  server = started;
  projectDir = project.dir;
  dates = project.dates;
});

afterAll(async () => {
  await server?.stop();
  await removeDir(work);
});

async function writeStar(members: string, events: string): Promise<void> {
  const membersCsv = join(projectDir, 'members.csv');
  const eventsCsv = join(projectDir, 'events.csv');
  await writeFile(membersCsv, `id,name\n${members}`);
  await writeFile(eventsCsv, `event_id,date_key,member_id\n${events}`);
  await writeFile(
    join(projectDir, 'models', 'gold', 'members.sql'),
    `/* config\nmaterialized: scd1\nunique_key: id\n*/\nSELECT id, name FROM read_csv('${membersCsv}')\n`,
  );
  await writeFile(
    join(projectDir, 'models', 'gold', 'events.sql'),
    `/* config\nmaterialized: append\nrole: fact\nunique_key: event_id\ntests:\n  - relationships: {column: member_id, to: gold.members, field: id}\n*/\n` +
      `SELECT event_id, CAST(date_key AS DATE) AS date_key, member_id FROM read_csv('${eventsCsv}') WHERE CAST(date_key AS DATE) = CAST(getvariable('etl_date') AS DATE)\n`,
  );
}

function options(engine: Engine, url: string): RedshiftPublishOptions {
  return {
    db: engine.reader,
    models: engine.models,
    connection: { kind: 'pg', config: { connectionString: url }, dialect: 'postgres' },
    tables: ['members', 'events'],
  };
}

describe('publish to PostgreSQL after an scd1 dimension lost a member', () => {
  it('deletes the member from the target once the facts pointing at it are replaced', async () => {
    const [first, second] = dates as [string, string];
    await writeStar('1,a\n2,b\n3,c\n', `10,${first},1\n11,${first},2\n12,${second},3\n`);
    const url = await server.createDatabase('gone_member');
    let engine = await createEngine({ projectDir });
    try {
      expect((await engine.run({ dates })).status).toBe('success');
      const published = await publishRedshift(options(engine, url));
      expect(published.reconciliation.every((r) => r.matches)).toBe(true);
      // Member 2 (and its one event) removed at the source; the dimension rebuilt from every date.
      await writeStar('1,a\n3,c\n', `10,${first},1\n12,${second},3\n`);
      engine.close();
      engine = await createEngine({ projectDir });
      await engine.dropTable('gold.members', { rebuild: true });
      expect((await engine.run({ dates })).status).toBe('success');

      const again = await publishRedshift(options(engine, url));
      expect(again.tables.find((t) => t.table === 'members')?.action).toBe('merge');
      expect(again.reconciliation.map((r) => [r.table, r.targetRows, r.matches])).toEqual([
        ['members', 2, true],
        ['events', 2, true],
      ]);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const ids = await client.query('SELECT id::int AS id FROM gold.members ORDER BY id');
        expect(ids.rows.map((r) => r.id)).toEqual([1, 3]);
        // The foreign key is still declared, and the rows satisfy it.
        const keys = await client.query(
          "SELECT count(*)::int AS n FROM pg_constraint WHERE conname = 'events_member_id_fkey'",
        );
        expect(keys.rows[0]).toEqual({ n: 1 });
      } finally {
        await client.end();
      }
    } finally {
      engine.close();
    }
  });

  it('deletes an event a re-run date lost from an append table that has no date key', async () => {
    const [first, second] = dates as [string, string];
    const eventsCsv = join(projectDir, 'undated.csv');
    await writeFile(eventsCsv, `event_id,day,v\n20,${first},1\n21,${first},2\n22,${second},3\n`);
    await writeFile(
      join(projectDir, 'models', 'gold', 'undated.sql'),
      `/* config\nmaterialized: append\nunique_key: event_id\n*/\nSELECT event_id, v FROM read_csv('${eventsCsv}') WHERE CAST(day AS DATE) = CAST(getvariable('etl_date') AS DATE)\n`,
    );
    const url = await server.createDatabase('undated');
    const engine = await createEngine({ projectDir });
    try {
      await engine.run({ dates });
      const publish = () =>
        publishRedshift({ ...options(engine, url), tables: ['undated'] }).then((r) =>
          r.reconciliation.map((c) => [c.table, c.targetRows, c.matches]),
        );
      expect(await publish()).toEqual([['undated', 3, true]]);
      await writeFile(eventsCsv, `event_id,day,v\n20,${first},1\n22,${second},3\n`);
      expect((await engine.run({ dates: [first] })).status).toBe('success');
      expect(await publish()).toEqual([['undated', 2, true]]);
    } finally {
      engine.close();
    }
  });
});

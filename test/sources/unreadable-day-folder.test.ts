import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJsonLineAsOtherUser } from '../helpers/other-user.ts';
import { PROJECT_ROOT, removeDir, tempDir } from '../helpers/project.ts';
import { events, writeDay } from '../helpers/source-files.ts';

// A day folder this user may not open was taken as a day not delivered: a run without dates skipped it
// unsaid and --date said it did not exist. Both now name it and the chmod. Root reads everything, so as
// root the checks run as nobody (as in unreadable-source.test.ts).

let work: string;
let closed: string;
let outcomes: Record<string, string>;

beforeAll(async () => {
  work = await tempDir('lakehouse-unreadable-day-');
  for (const day of ['20220601', '20220602', '20220603'])
    await writeDay(
      join(work, 'days'),
      day,
      events(2, `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}`),
    );
  closed = join(work, 'days', '20220602');
  await writeFile(
    join(work, 'lakehouse.yaml'),
    'name: unreadable-day\nsources:\n  days: {kind: daily_parquet, path: days}\n',
  );
  const script = join(work, 'check.mts');
  const engine = (path: string) => JSON.stringify(join(PROJECT_ROOT, 'engine', path));
  await writeFile(
    script,
    `import { openDb } from ${engine('db/duckdb.ts')};
import { availableDates } from ${engine('pipeline/dates.ts')};
import { loadProject, resolveProjectPath } from ${engine('project/config.ts')};
import { bindDailyParquet } from ${engine('sources/daily-parquet.ts')};
const project = await loadProject(${JSON.stringify(work)});
const source = project.config.sources.days;
if (source?.kind !== 'daily_parquet') throw new Error('no daily source');
const root = resolveProjectPath(project.root, source.path);
const db = await openDb();
await db.run('CREATE SCHEMA source');
const outcome = (p: Promise<unknown>) => p.then((v) => JSON.stringify(v), (e: Error) => e.message);
const out = {
  dates: await outcome(availableDates(project)),
  closedDay: await outcome(bindDailyParquet(db, 'days', source, root, '2022-06-02').then((b) => b.files)),
};
db.close();
console.log(JSON.stringify(out));
`,
  );
  await chmod(closed, 0o000);
  outcomes = await lastJsonLineAsOtherUser(work, script, ['lakehouse.yaml', 'check.mts']);
}, 60_000);
afterAll(async () => {
  // Without its permissions back, a user other than root could not remove the day folder.
  await chmod(closed, 0o755);
  await removeDir(work);
});

describe('a day folder this user cannot open', () => {
  const denied = () =>
    `Source "days": folder ${closed} cannot be opened by this user (permission denied): ` +
    `give your user read access to it (chmod -R a+rX ${closed}) and run again; nothing of it was loaded.`;

  it('refuses a run without dates, where it ran the other two days unsaid', () => {
    expect(outcomes.dates).toBe(denied());
  });

  it('fails --date of that day saying so, not that the folder does not exist', () => {
    expect(outcomes.closedDay).toBe(denied());
  });
});

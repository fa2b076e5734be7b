import { chmod, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJsonLineAsOtherUser } from '../helpers/other-user.ts';
import { PROJECT_ROOT, removeDir, tempDir } from '../helpers/project.ts';
import { events, writeDay } from '../helpers/source-files.ts';

// A day folder this user can list but not enter (chmod a-x) had its Parquet files taken for entries that
// cannot be opened: bound, its day "held no .parquet files" and was to wait for delivery. A level of
// %Y/%m/%d that cannot be entered had its days left out of the listing unsaid. Both now name the folder
// and the chmod a+x. A Parquet file linked into a folder this user cannot enter was a broken link to
// note while the rest of its day loaded: it fails the day, naming the link. Root enters everything, so as root the checks run as nobody (as in
// unreadable-day-folder.test.ts).

let work: string;
let closedDay: string;
let closedMonth: string;
let closedTarget: string;
let link: string;
let outcomes: Record<string, string>;

beforeAll(async () => {
  work = await tempDir('lakehouse-unenterable-day-');
  for (const day of ['20220601', '20220602'])
    await writeDay(
      join(work, 'days'),
      day,
      events(2, `${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}`),
    );
  for (const day of ['2022/05/31', '2022/06/01'])
    await writeDay(join(work, 'nested'), day, events(2, day.replaceAll('/', '-')));
  closedDay = join(work, 'days', '20220602');
  closedMonth = join(work, 'nested', '2022', '06');
  await writeDay(join(work, 'linked'), '20220601', events(2));
  closedTarget = join(work, 'elsewhere');
  await writeDay(closedTarget, 'x', events(2, '2022-06-01', 'other'));
  link = join(work, 'linked', '20220601', 'part-00001.parquet');
  await symlink(join(closedTarget, 'x', 'part-00000.parquet'), link);
  await writeFile(
    join(work, 'lakehouse.yaml'),
    'name: unenterable-day\nsources:\n  days: {kind: daily_parquet, path: days}\n' +
      '  nested: {kind: daily_parquet, path: nested, date_format: "%Y/%m/%d"}\n' +
      '  linked: {kind: daily_parquet, path: linked}\n',
  );
  const script = join(work, 'check.mts');
  const engine = (path: string) => JSON.stringify(join(PROJECT_ROOT, 'engine', path));
  await writeFile(
    script,
    `import { openDb } from ${engine('db/duckdb.ts')};
import { availableDates } from ${engine('pipeline/dates.ts')};
import { loadProject, resolveProjectPath } from ${engine('project/config.ts')};
import { bindDailyParquet } from ${engine('sources/daily-parquet.ts')};
import { probeSource } from ${engine('sources/probe.ts')};
const project = await loadProject(${JSON.stringify(work)});
const db = await openDb();
await db.run('CREATE SCHEMA source');
const outcome = (p: Promise<unknown>) => p.then((v) => JSON.stringify(v), (e: Error) => e.message);
const bind = (name: string, date: string) => {
  const source = project.config.sources[name];
  if (source?.kind !== 'daily_parquet') throw new Error('no daily source ' + name);
  const root = resolveProjectPath(project.root, source.path);
  return outcome(bindDailyParquet(db, name, source, root, date).then((b) => b.files));
};
const out = {
  dates: await outcome(availableDates(project)),
  closedDay: await bind('days', '2022-06-02'),
  probeDays: (await probeSource(project, { name: 'days' })).summary,
  nestedDay: await bind('nested', '2022-06-01'),
  probeNested: (await probeSource(project, { name: 'nested' })).summary,
  linkedDay: await bind('linked', '2022-06-01'),
};
db.close();
console.log(JSON.stringify(out));
`,
  );
  await chmod(closedDay, 0o644);
  await chmod(closedMonth, 0o644);
  await chmod(join(closedTarget, 'x'), 0o644);
  outcomes = await lastJsonLineAsOtherUser(work, script, ['lakehouse.yaml', 'check.mts']);
}, 60_000);
afterAll(async () => {
  await chmod(closedDay, 0o755);
  await chmod(closedMonth, 0o755);
  await chmod(join(closedTarget, 'x'), 0o755);
  await removeDir(work);
});

const notEntered = (folder: string) =>
  `folder ${folder} can be listed but not entered by this user (it lacks execute/search permission): ` +
  `give your user that permission (chmod a+x ${folder}, or chmod u+x if you own it) and run again; nothing of it was loaded.`;

describe('a day folder this user can list but not enter', () => {
  it('fails a run of its date naming it and chmod a+x, not as a day without Parquet files', () => {
    expect(outcomes.closedDay).toBe(`Source "days": ${notEntered(closedDay)}`);
  });

  it('refuses a run without dates and the Sources form test the same way', () => {
    expect(outcomes.dates).toContain(notEntered(closedDay));
    expect(outcomes.probeDays).toBe(notEntered(closedDay));
  });
});

describe('a month folder of %Y/%m/%d this user can list but not enter', () => {
  it('fails a run of a day under it naming it, and the test of the source, where its days went unlisted', () => {
    expect(outcomes.nestedDay).toBe(`Source "nested": ${notEntered(closedMonth)}`);
    expect(outcomes.probeNested).toBe(notEntered(closedMonth));
  });
});

describe('a Parquet file linked into a folder this user cannot enter', () => {
  it('fails its day naming the link and where it leads, where the rest of the day loaded with a note', () => {
    expect(outcomes.linkedDay).toBe(
      `Source "linked": file ${link} (a link to ${join(closedTarget, 'x', 'part-00000.parquet')}) cannot be opened by ` +
        'this user (permission denied): give your user read access to it and execute/search access (chmod a+x) to each ' +
        'folder on the way to it, and run again; nothing of its day was loaded.',
    );
  });
});

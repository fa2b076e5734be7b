import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJsonLineAsOtherUser } from '../helpers/other-user.ts';
import { PROJECT_ROOT, removeDir, tempDir } from '../helpers/project.ts';
import { events, writeDay } from '../helpers/source-files.ts';

// A folder ABOVE a daily source's folder that this user cannot enter made every file system call under it
// fail with EACCES, and the error named the source folder and a chmod of it that changes nothing. It now
// names the closed folder above. Root enters everything, so the checks run as nobody (other-user.ts).

let work: string;
let closedAbove: string;
let unlistedAbove: string;
let outcomes: Record<string, string>;

beforeAll(async () => {
  work = await tempDir('lakehouse-closed-above-');
  closedAbove = join(work, 'shared', 'closed');
  unlistedAbove = join(work, 'shared', 'unlisted');
  await writeDay(join(closedAbove, 'data', 'days'), '20220601', events(2));
  await writeDay(join(unlistedAbove, 'data', 'days'), '20220601', events(2));
  await writeFile(
    join(work, 'lakehouse.yaml'),
    'name: closed-above\nsources:\n' +
      '  closed: {kind: daily_parquet, path: shared/closed/data/days}\n' +
      '  unlisted: {kind: daily_parquet, path: shared/unlisted/data/days}\n',
  );
  const script = join(work, 'check.mts');
  const engine = (path: string) => JSON.stringify(join(PROJECT_ROOT, 'engine', path));
  await writeFile(
    script,
    `import { openDb } from ${engine('db/duckdb.ts')};
import { loadProject, resolveProjectPath } from ${engine('project/config.ts')};
import { bindDailyParquet, listSourceDates } from ${engine('sources/daily-parquet.ts')};
import { probeSource } from ${engine('sources/probe.ts')};
const project = await loadProject(${JSON.stringify(work)});
const db = await openDb();
await db.run('CREATE SCHEMA source');
const outcome = (p: Promise<unknown>) => p.then((v) => JSON.stringify(v), (e: Error) => e.message);
const root = (name: string) => {
  const source = project.config.sources[name];
  if (source?.kind !== 'daily_parquet') throw new Error('no daily source ' + name);
  return { source, root: resolveProjectPath(project.root, source.path) };
};
const out: Record<string, string> = {};
for (const name of ['closed', 'unlisted']) {
  const { source, root: folder } = root(name);
  out[name + 'Dates'] = await outcome(listSourceDates(folder, source.date_format, undefined, name));
  out[name + 'Day'] = await outcome(bindDailyParquet(db, name, source, folder, '2022-06-01').then((b) => b.files));
  out[name + 'Probe'] = (await probeSource(project, { name })).summary;
}
db.close();
console.log(JSON.stringify(out));
`,
  );
  // Listed but not entered (r, no x); neither listed nor entered.
  await chmod(closedAbove, 0o644);
  await chmod(unlistedAbove, 0o600);
  outcomes = await lastJsonLineAsOtherUser(work, script, ['lakehouse.yaml', 'check.mts']);
}, 60_000);
afterAll(async () => {
  await chmod(closedAbove, 0o755);
  await chmod(unlistedAbove, 0o755);
  await removeDir(work);
});

const notEntered = (folder: string, source: string) =>
  `folder ${folder}, above the source folder ${source}, cannot be entered by this user (it lacks execute/search ` +
  `permission): give your user that permission (chmod a+x ${folder}, or chmod u+x if you own it) and run again; nothing of it was loaded.`;

describe('a folder above the source folder that this user cannot enter', () => {
  it('is named, with its chmod, by the listing of dates, a run of a date and the test of the source', () => {
    const source = join(closedAbove, 'data', 'days');
    expect(outcomes.closedDates).toBe(`Source "closed": ${notEntered(closedAbove, source)}`);
    expect(outcomes.closedDay).toBe(`Source "closed": ${notEntered(closedAbove, source)}`);
    expect(outcomes.closedProbe).toContain(notEntered(closedAbove, source));
  });

  it('is named when it cannot be listed either', () => {
    const source = join(unlistedAbove, 'data', 'days');
    expect(outcomes.unlistedDates).toBe(`Source "unlisted": ${notEntered(unlistedAbove, source)}`);
    expect(outcomes.unlistedDay).toBe(`Source "unlisted": ${notEntered(unlistedAbove, source)}`);
  });
});

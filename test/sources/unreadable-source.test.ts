import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJsonLineAsOtherUser } from '../helpers/other-user.ts';
import { PROJECT_ROOT, removeDir, tempDir } from '../helpers/project.ts';
import { events, writeCatalog, writeDay } from '../helpers/source-files.ts';

// A source this user may not read says so, naming what to give access to: it read as a format fault
// ("set sources.<name>.format") for a file, and as a source with no day folders for a daily one. Root
// reads everything, so as root the probe runs as nobody.

let work: string;
let probes: Record<string, string>;

beforeAll(async () => {
  work = await tempDir('lakehouse-unreadable-');
  await writeCatalog(join(work, 'titles.csv'));
  await writeDay(join(work, 'days'), '20220601', events(2));
  await writeFile(
    join(work, 'lakehouse.yaml'),
    'name: unreadable\nsources:\n  titles: {kind: file, path: titles.csv}\n  days: {kind: daily_parquet, path: days}\n',
  );
  const script = join(work, 'probe.mts');
  await writeFile(
    script,
    `import { loadProject } from ${JSON.stringify(join(PROJECT_ROOT, 'engine/project/config.ts'))};
import { probeSource } from ${JSON.stringify(join(PROJECT_ROOT, 'engine/sources/probe.ts'))};
const project = await loadProject(${JSON.stringify(work)});
const out: Record<string, string> = {};
for (const name of ['titles', 'days']) out[name] = (await probeSource(project, { name })).summary;
console.log(JSON.stringify(out));
`,
  );
  await chmod(join(work, 'titles.csv'), 0o000);
  await chmod(join(work, 'days', '20220601'), 0o000);
  probes = await lastJsonLineAsOtherUser(work, script, ['lakehouse.yaml', 'probe.mts']);
}, 60_000);
afterAll(async () => {
  // Without its permissions back, a user other than root could not remove the day folder.
  await chmod(join(work, 'days', '20220601'), 0o755);
  await removeDir(work);
});

describe('a source this user cannot read', () => {
  it('as a file says permission is denied and how to give access, not to set its format', () => {
    expect(probes.titles).toBe(
      `Source "titles": file ${join(work, 'titles.csv')} cannot be opened by this user (permission denied). ` +
        'Give your user read access to it (chmod a+r), or copy it somewhere readable and change sources.titles.path.',
    );
  });

  it('as a day folder names it, where the probe said there were no day folders', () => {
    expect(probes.days).toContain(
      `${join(work, 'days', '20220601')} cannot be opened by this user (permission denied): give your user read access`,
    );
  });
});

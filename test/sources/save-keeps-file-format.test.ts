import { chmod, lstat, mkdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { LakehouseError } from '../../engine/api/errors.ts';
import { loadProject } from '../../engine/project/config.ts';
import { saveSource } from '../../engine/sources/save.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// A save from the app edits lakehouse.yaml in place: lines it does not touch stay as the user wrote them,
// however long, a file written on Windows keeps its CRLF line ends and byte order mark, and a file linked
// from elsewhere stays linked, with its permissions. A source added there by hand is not overwritten.

const LONG_NOTE = `a note the team wrote on one line,${' long enough to pass eighty characters'.repeat(2)}`;
const LONG_PATH = `/data/${'deeply/nested/'.repeat(8)}titles.csv`;
const PROJECT = [
  '# the team project',
  'name: formats',
  'sources:',
  '  titles:',
  '    kind: file',
  `    path: ${LONG_PATH}`,
  'vars:',
  `  note: "${LONG_NOTE}"`,
  `  plain: ${LONG_NOTE}`,
  '',
].join('\n');

let work: string;
beforeAll(async () => {
  work = await tempDir('lakehouse-save-format-');
});
afterAll(() => removeDir(work));

async function saveInto(text: string): Promise<string> {
  await writeFile(join(work, 'lakehouse.yaml'), text);
  const project = await loadProject(work);
  await saveSource(project, { name: 'added', source: { kind: 'file', path: LONG_PATH }, replace: false });
  return readFile(join(work, 'lakehouse.yaml'), 'utf8');
}

describe('saving a source', () => {
  it('leaves long lines elsewhere in the file, and its own long path, on one line each', async () => {
    const saved = await saveInto(PROJECT);
    const added = `  added:\n    kind: file\n    path: ${LONG_PATH}\n`;
    expect(saved).toBe(PROJECT.replace('vars:\n', `${added}vars:\n`));
  });

  it('keeps CRLF line ends and a byte order mark', async () => {
    const saved = await saveInto(`\uFEFF${PROJECT.replaceAll('\n', '\r\n')}`);
    expect(saved.startsWith('\uFEFF# the team project\r\n')).toBe(true);
    expect(saved.replaceAll('\r\n', '')).not.toContain('\n');
    expect(parseYaml(saved.slice(1)).sources.added).toEqual({ kind: 'file', path: LONG_PATH });
  });

  it('writes the file a linked lakehouse.yaml points to, keeping the link and the permissions', async () => {
    const linked = join(work, 'shared', 'lakehouse.yaml');
    await mkdir(join(work, 'shared'));
    await writeFile(linked, PROJECT);
    await chmod(linked, 0o600);
    const project = join(work, 'linked-project');
    await mkdir(project);
    await symlink(linked, join(project, 'lakehouse.yaml'));
    await saveSource(await loadProject(project), {
      name: 'added',
      source: { kind: 'file', path: 'a.csv' },
      replace: false,
    });
    expect((await lstat(join(project, 'lakehouse.yaml'))).isSymbolicLink()).toBe(true);
    expect(parseYaml(await readFile(linked, 'utf8')).sources.added).toEqual({ kind: 'file', path: 'a.csv' });
    expect((await stat(linked)).mode & 0o777).toBe(0o600);
  });

  it('refuses to add a source of a name written into the file by hand since the project was loaded', async () => {
    await writeFile(join(work, 'lakehouse.yaml'), PROJECT);
    const project = await loadProject(work);
    const byHand = '  # the team catalog\n  team:\n    kind: file\n    path: team.csv\n';
    await writeFile(join(work, 'lakehouse.yaml'), PROJECT.replace('vars:\n', `${byHand}vars:\n`));
    const refused = await saveSource(project, {
      name: 'team',
      source: { kind: 'file', path: 'mine.csv' },
      replace: false,
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LakehouseError);
    expect((refused as LakehouseError).message).toContain(
      'A source named "team" already exists in lakehouse.yaml',
    );
    expect(await readFile(join(work, 'lakehouse.yaml'), 'utf8')).toContain(byHand);
  });

  it('refuses a save to a file made invalid by hand since, naming its line, not blaming the save', async () => {
    await writeFile(join(work, 'lakehouse.yaml'), PROJECT);
    const project = await loadProject(work);
    await writeFile(join(work, 'lakehouse.yaml'), `${PROJECT}setings: {threads: 2}\n`);
    const refused = await saveSource(project, {
      name: 'other',
      source: { kind: 'file', path: 'b.csv' },
      replace: false,
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LakehouseError);
    expect((refused as LakehouseError).code).toBe('PROJECT_INVALID');
    expect((refused as LakehouseError).message).toContain(
      'lakehouse.yaml is invalid as it is, before this save: line 10: Unrecognized key: "setings"',
    );
  });

  it('keeps a section whose entries are all commented out, and its comments when entries are written in', async () => {
    const commented = '    columns:\n      # eventID: VARCHAR\n      # keyword: VARCHAR\n';
    const text = `name: sections\nsources:\n  logs:\n    kind: daily_parquet\n    path: raw\n${commented}`;
    await writeFile(join(work, 'lakehouse.yaml'), text);
    const project = await loadProject(work);
    const save = (columns: Record<string, string>) =>
      saveSource(project, {
        name: 'logs',
        source: { kind: 'daily_parquet', path: 'raw', columns },
        replace: true,
      });
    await save({});
    expect(await readFile(join(work, 'lakehouse.yaml'), 'utf8')).toBe(text);
    await save({ keyword: 'VARCHAR' });
    expect(await readFile(join(work, 'lakehouse.yaml'), 'utf8')).toContain(
      '    columns:\n      keyword: VARCHAR\n      # eventID: VARCHAR\n      # keyword: VARCHAR\n',
    );
  });
});

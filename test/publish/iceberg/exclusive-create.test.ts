import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalFileIO } from '../../../engine/publish/iceberg/file-io.ts';
import { PROJECT_ROOT, removeDir, tempDir } from '../../helpers/project.ts';

// The file-system catalog's commit is the exclusive creation of vN+1.metadata.json. A publish killed
// while writing it must leave no such file or the whole one: a partial file breaks every later load,
// and since the name is taken no later commit could replace it.
let work: string;
beforeAll(async () => {
  work = await tempDir('iceberg-exclusive-create-');
});
afterAll(() => removeDir(work));

const SIZE = 192 * 1024 * 1024;

describe('a local warehouse commit file', () => {
  it('is never seen half-written, even when the writer is killed mid-write', async () => {
    const path = join(work, 'gold', 't', 'metadata', 'v2.metadata.json');
    const uri = pathToFileURL(path).href;
    const child = spawn(
      process.execPath,
      ['bin/run-ts.js', 'test/publish/iceberg/exclusive-create-child.ts', work, uri, String(SIZE)],
      { cwd: PROJECT_ROOT, stdio: 'ignore' },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
    // Kill the writer the moment the name appears (or once it has ended on its own).
    const deadline = Date.now() + 60_000;
    let seen = -1;
    while (child.exitCode === null && Date.now() < deadline) {
      try {
        seen = statSync(path).size;
        child.kill('SIGKILL');
        break;
      } catch {
        await new Promise((r) => setImmediate(r));
      }
    }
    await exited;
    if (seen >= 0) expect(seen, 'the commit file was visible before it was complete').toBe(SIZE);
    const left = await readdir(join(work, 'gold', 't', 'metadata')).catch((): string[] => []);
    if (left.includes('v2.metadata.json')) expect(statSync(path).size).toBe(SIZE);
    // Whatever the kill left, the next commit of that version behaves: taken if whole, else creatable.
    const io = createLocalFileIO(work);
    const created = await io.createExclusive(uri, 'next');
    expect(created).toBe(!left.includes('v2.metadata.json'));
    if (created) expect(await readFile(path, 'utf8')).toBe('next');
  }, 90_000);

  it('loses to a file that exists, leaving it and no temp file behind', async () => {
    const io = createLocalFileIO(work);
    const uri = pathToFileURL(join(work, 'gold', 'u', 'metadata', 'v1.metadata.json')).href;
    expect(await io.createExclusive(uri, 'first')).toBe(true);
    expect(await io.createExclusive(uri, 'second')).toBe(false);
    expect(await readFile(join(work, 'gold', 'u', 'metadata', 'v1.metadata.json'), 'utf8')).toBe('first');
    expect(await readdir(join(work, 'gold', 'u', 'metadata'))).toEqual(['v1.metadata.json']);
  });
});

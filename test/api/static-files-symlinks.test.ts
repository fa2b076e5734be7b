import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic } from '../../server/static-files.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

// The renderer's files go out without the token, to any local user: a symlink in the folder must not
// reach past it.
let work: string;
let server: Server;
let origin: string;

beforeAll(async () => {
  work = await tempDir('lakehouse-static-');
  const root = join(work, 'renderer');
  await mkdir(join(root, 'assets'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<!doctype html><title>Lakehouse Explorer</title>');
  await writeFile(join(work, 'private.txt'), 'a file outside the renderer');
  await symlink(join(work, 'private.txt'), join(root, 'assets', 'leak.txt'));
  await symlink(join(root, 'index.html'), join(root, 'assets', 'same.html'));
  server = createServer((request, response) => {
    void serveStatic(root, new URL(request.url ?? '/', 'http://localhost').pathname, response, false).then(
      (served) => {
        if (!served) response.writeHead(404).end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (work) await removeDir(work);
});

describe('static files behind symlinks', () => {
  it('serves none that leads outside the renderer folder', async () => {
    const response = await fetch(`${origin}/assets/leak.txt`);
    expect(response.status).toBe(404);
    expect(await response.text()).not.toContain('outside the renderer');
  });

  it('serves one that leads to a file inside it', async () => {
    const response = await fetch(`${origin}/assets/same.html`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Lakehouse Explorer');
  });
});

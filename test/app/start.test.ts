import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { electronBinary } from '../../cli/app.ts';
import { outdated } from '../../cli/build-state.ts';
import { ensureDemoProject } from '../../electron/first-launch.ts';
import { buildTitleIndex, searchSlugs } from '../../engine/normalize/matcher.ts';
import { PREBUILT_WORKER, workerScriptBeside } from '../../engine/normalize/parallel-match.ts';
import { buildRendererIfOutdated } from '../helpers/browser.ts';
import { searchInWorker } from '../helpers/match-worker.ts';
import { PROJECT_ROOT, removeDir, tempDir } from '../helpers/project.ts';

// How the app starts: the demo created on first launch, `lakehouse app` in browser mode where Electron's
// binary is absent, and `npm run build`'s Electron half.

let work: string;
beforeAll(async () => {
  work = await tempDir('lakehouse-start-');
});
afterAll(async () => {
  if (work) await removeDir(work);
});

describe('first launch', () => {
  it('creates the demo project once, with its generated days as the source', async () => {
    const dir = join(work, 'demo');
    expect(await ensureDemoProject(dir)).toBe(true);
    expect(existsSync(join(dir, 'lakehouse.yaml'))).toBe(true);
    const days = await readdir(join(dir, 'data', 'customer_search_log_data'));
    expect(days).toEqual(['20220601', '20220602', '20220603', '20220604', '20220605']);
    expect(await readFile(join(dir, 'lakehouse.yaml'), 'utf8')).toContain('customer_search_log_data');
    expect(await ensureDemoProject(dir)).toBe(false);
  });
});

describe('lakehouse app', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('serves the UI in browser mode and prints the URL with its token', async () => {
    buildRendererIfOutdated();
    const dir = join(work, 'demo');
    child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin', 'lakehouse.js'), 'app', dir, '--browser'], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = output.match(/open (http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]+)/);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child?.stdout?.on('data', onData);
      child?.stderr?.on('data', onData);
      child?.on('exit', (code) => reject(new Error(`exited ${code}:\n${output}`)));
    });
    const { origin, hash } = new URL(url);
    const token = new URLSearchParams(hash.slice(1)).get('token');
    const page = await fetch(`${origin}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
    const info = await fetch(`${origin}/rpc/project.info`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(info.status).toBe(200);
    expect(((await info.json()) as { root: string }).root).toBe(dir);
  });

  it('says why it starts browser mode when Electron has no binary', () => {
    // On machines with the binary, `lakehouse app` opens the desktop window instead.
    const binary = electronBinary();
    expect(binary === null || existsSync(binary)).toBe(true);
  });
});

describe('what npm start rebuilds', () => {
  it('takes a build for outdated when it is missing or a file under its inputs is newer', async () => {
    const root = join(work, 'build-state');
    await mkdir(join(root, 'src', 'deep'), { recursive: true });
    await writeFile(join(root, 'src', 'deep', 'a.ts'), '');
    await writeFile(join(root, 'config.ts'), '');
    const output = join(root, 'dist', 'index.html');
    const inputs = ['src', 'config.ts', 'absent'];
    expect(outdated(output, inputs, root)).toBe(true);
    await mkdir(join(root, 'dist'));
    await writeFile(output, '');
    const built = Date.now() / 1000;
    await utimes(output, built, built);
    const before = built - 60;
    for (const file of ['src/deep/a.ts', 'src/deep', 'src', 'config.ts'])
      await utimes(join(root, file), before, before);
    expect(outdated(output, inputs, root)).toBe(false);
    await utimes(join(root, 'src', 'deep', 'a.ts'), built + 60, built + 60);
    expect(outdated(output, inputs, root)).toBe(true);
  });
});

describe('npm run build, Electron half', () => {
  it('bundles main as ESM and a preload that needs nothing but electron', async () => {
    execFileSync(process.execPath, [join(PROJECT_ROOT, 'bin', 'run-ts.js'), 'scripts/build-electron.ts'], {
      cwd: PROJECT_ROOT,
    });
    const out = join(PROJECT_ROOT, 'dist', 'electron');
    const main = await readFile(join(out, 'main.js'), 'utf8');
    expect(main).toContain('from "electron"');
    expect(main).toContain('contextIsolation: true');
    const preload = await readFile(join(out, 'preload.cjs'), 'utf8');
    expect([...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1])).toEqual(['electron']);
    expect(preload).toContain('exposeInMainWorld("lakehouse"');
    // The keyword matcher's worker, for days with enough new keywords for a second thread: bundled by the
    // build and found beside main.js, so the packaged app never runs esbuild (it could not, from app.asar).
    const prebuilt = await readFile(join(out, PREBUILT_WORKER), 'utf8');
    const script = await workerScriptBeside(pathToFileURL(join(out, 'main.js')));
    expect(await readFile(script, 'utf8')).toBe(prebuilt);
    const titles = [
      { title: 'Bóng đá Việt Nam', genres: ['Sports'] },
      { title: 'Running Man', genres: ['Reality'] },
    ];
    const index = buildTitleIndex(titles);
    const slugs = ['bong-da', 'running-man-vietnam', 'xyz'];
    const reply = await searchInWorker(script, index, slugs);
    const single = searchSlugs(index, slugs);
    expect([...reply.title, ...reply.score]).toEqual([...single.title, ...single.score]);
    // The engine finds its examples from its own code's place, in the app main.js: the first launch builds
    // the demo from there, so the example must be where that leads, and packaged.
    const example = fileURLToPath(
      new URL('../examples/customer-search/', pathToFileURL(join(out, 'main.js'))),
    );
    expect(main).toContain('../examples/');
    for (const file of [
      'lakehouse.yaml',
      'titles.csv',
      'macros/cleaning.sql',
      'models/gold/fact_customer_search.sql',
    ])
      expect(existsSync(join(example, file)), file).toBe(true);
    const packaged = await readFile(join(PROJECT_ROOT, 'electron-builder.yml'), 'utf8');
    expect(packaged).toMatch(/^\s+- dist\/examples\/\*\*$/m);
  });
});

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

/** Where Debian's postgresql package puts the server binaries (newest version first). */
export function findPostgresBin(): string | null {
  for (const version of ['17', '16', '15', '14', '13']) {
    const bin = `/usr/lib/postgresql/${version}/bin`;
    if (existsSync(join(bin, 'initdb'))) return bin;
  }
  return null;
}

export interface PostgresServer {
  host: string;
  port: number;
  /** A connection URL for a database of this server (default `postgres`), user `postgres`, no password. */
  url(database?: string): string;
  /** Creates an empty database and returns its URL: one per test keeps tests independent. */
  createDatabase(name: string): Promise<string>;
  /**
   * CPU seconds the whole server has used so far (postmaster, live processes, and exited backends it
   * reaped), read from /proc; null where there is no /proc. Benchmarks use it: unlike wall time, it does
   * not depend on what else the machine is running.
   */
  cpuSeconds(): Promise<number | null>;
  stop(): Promise<void>;
}

/** utime + stime (and, with children, cutime + cstime) of a process, in clock ticks; null if gone. */
async function processTicks(
  pid: string,
  withChildren: boolean,
): Promise<{ ppid: string; ticks: number } | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state, ppid, ..., utime is the 12th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const n = (i: number) => Number(fields[i] ?? 0);
    return { ppid: fields[1] ?? '', ticks: n(11) + n(12) + (withChildren ? n(13) + n(14) : 0) };
  } catch {
    return null;
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/**
 * Starts a throwaway PostgreSQL cluster on 127.0.0.1 and a free port, in a temp data dir, with trust
 * auth and no fsync (it is test data). initdb refuses to run as root, so as root the server runs as the
 * `postgres` OS user. Call stop() when done: it stops the server and removes the data dir.
 * `extraSettings` are more `name=value` server settings (the benchmark's `wal_level=minimal`);
 * `passwordUser` is a role that, unlike the others, must log in with its password.
 */
export async function startPostgres(
  extraSettings: string[] = [],
  roles: { passwordUser?: { name: string; password: string } } = {},
): Promise<PostgresServer> {
  const bin = findPostgresBin();
  if (!bin) throw new Error('PostgreSQL not installed: apt-get install postgresql (see .ci/run)');
  const dir = await mkdtemp(join(tmpdir(), 'lakehouse-pg-'));
  const asRoot = process.getuid?.() === 0;
  const exec = (file: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', file, ...args]) : run(file, args);
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const dataDir = join(dir, 'data');
  await exec(join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
    '-E',
    'UTF8',
  ]);
  if (roles.passwordUser) {
    // Every other user keeps trust auth; this one must give its password (SCRAM, as on a real server).
    const hba = join(dataDir, 'pg_hba.conf');
    const rule = `host all ${roles.passwordUser.name} 127.0.0.1/32 scram-sha-256\n`;
    // Rewritten in place, so the file keeps its owner (the postgres OS user when run as root).
    await writeFile(hba, rule + (await readFile(hba, 'utf8')));
  }
  const port = await freePort();
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c max_wal_size=2GB',
    ...extraSettings.map((setting) => `-c ${setting}`),
  ].join(' ');
  await exec(join(bin, 'pg_ctl'), [
    '-D',
    dataDir,
    '-o',
    options,
    '-l',
    join(dir, 'server.log'),
    '-w',
    'start',
  ]);
  const host = '127.0.0.1';
  const url = (database = 'postgres') => `postgres://postgres@${host}:${port}/${database}`;
  if (roles.passwordUser) {
    const { name, password } = roles.passwordUser;
    const client = new pg.Client({ connectionString: url() });
    await client.connect();
    try {
      await client.query(
        `CREATE ROLE "${name}" LOGIN SUPERUSER PASSWORD '${password.replaceAll("'", "''")}'`,
      );
    } finally {
      await client.end();
    }
  }
  return {
    host,
    port,
    url,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replaceAll('"', '""')}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    async cpuSeconds() {
      if (!existsSync('/proc/self/stat')) return null;
      const postmaster =
        (await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]?.trim() ?? '';
      let ticks = (await processTicks(postmaster, true))?.ticks ?? 0;
      for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
        const child = await processTicks(pid, false);
        if (child?.ppid === postmaster) ticks += child.ticks;
      }
      // Linux reports CPU time in USER_HZ ticks, 100 per second on every architecture it runs on.
      return ticks / 100;
    },
    async stop() {
      await exec(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']).catch(
        () => undefined,
      );
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface CuttingProxy {
  /** `url` with its host and port replaced by the proxy's. */
  url(url: string): string;
  /** The simple-protocol queries that were cut, in order. */
  cut: string[];
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy in front of `server` that drops both sides of a connection, as a network or a
 * server restart does, when its client sends a simple-protocol query `cutAt` accepts (the query is
 * not forwarded). Deterministic, unlike terminating a backend between two statements.
 */
export async function startCuttingProxy(
  server: PostgresServer,
  cutAt: (query: string) => boolean,
): Promise<CuttingProxy> {
  const cut: string[] = [];
  const sockets = new Set<Socket>();
  const proxy = createServer((downstream) => {
    const upstream = connect(server.port, server.host);
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    const drop = () => {
      downstream.destroy();
      upstream.destroy();
    };
    downstream.on('close', drop);
    upstream.on('close', drop);
    upstream.on('data', (chunk: Buffer) => downstream.write(chunk));
    // Frontend messages: the startup message is int32 length + body; every later one is a type byte,
    // then int32 length (counting itself) + body. A 'Q' body is the query text ending with a zero byte.
    let pending = Buffer.alloc(0);
    let started = false;
    downstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const header = started ? 5 : 4;
        if (pending.length < header) return;
        const length = pending.readInt32BE(started ? 1 : 0) + (started ? 1 : 0);
        if (pending.length < length) return;
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        if (started && message[0] === 0x51) {
          const query = message.subarray(5, length - 1).toString('utf8');
          if (cutAt(query)) {
            cut.push(query);
            drop();
            return;
          }
        }
        started = true;
        upstream.write(message);
      }
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const port = (proxy.address() as AddressInfo).port;
  return {
    url(url) {
      const proxied = new URL(url);
      proxied.hostname = '127.0.0.1';
      proxied.port = String(port);
      return proxied.toString();
    },
    cut,
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => proxy.close(() => resolve()));
    },
  };
}

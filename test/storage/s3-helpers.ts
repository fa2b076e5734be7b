import { readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join, relative } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
// s3rver ships no types; it is a real S3-protocol server (Koa) storing objects in a folder.
// @ts-expect-error no declaration file
import S3rver from 's3rver';
import { listObjects, uploadFile } from '../../engine/storage/s3-objects.ts';
import { removeDir, tempDir } from '../helpers/project.ts';

export interface S3Server {
  endpoint: string;
  close(): Promise<void>;
}

/** s3rver's fixed key pair; the AWS chain picks it up from the environment. */
export function useS3rverCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}

/** Starts s3rver on a random loopback port over a temp folder, with the given buckets. */
export async function startS3Server(buckets: string[]): Promise<S3Server> {
  const directory = await tempDir('lakehouse-s3rver-');
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const address = (await server.run()) as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    async close() {
      await server.close();
      await removeDir(directory);
    },
  };
}

/** Uploads every file under `dir` to s3://bucket/prefix/<relative path>. */
export async function uploadTree(
  client: S3Client,
  dir: string,
  bucket: string,
  prefix: string,
): Promise<void> {
  const walk = async (folder: string): Promise<string[]> => {
    const out: string[] = [];
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) out.push(...(await walk(full)));
      else out.push(full);
    }
    return out;
  };
  for (const file of await walk(dir)) {
    await uploadFile(client, bucket, `${prefix}/${relative(dir, file)}`, file);
  }
}

export async function keysUnder(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  return (await listObjects(client, bucket, prefix)).objects.map((o) => o.key).sort();
}

import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { LakehouseError } from '../api/errors.ts';
import { type LakeStorage, localLake, s3Lake } from './lake-storage.ts';
import { createObjectCache, type ObjectCache, type TransferProgress } from './object-cache.ts';
import { createS3Client, type S3Settings } from './s3-client.ts';
import { isS3Uri, parseS3Uri } from './s3-uri.ts';

/**
 * A project's access to storage: one S3 client (created on first use, so local-only projects never
 * touch the AWS chain), the object cache sources are fetched into, and its lake.
 */
export interface ProjectStorage {
  readonly settings: S3Settings;
  client(): S3Client;
  readonly cache: ObjectCache;
  /** The lake at `location`: local disk, or S3 with a mirror under the project's `.lakehouse/`. */
  lake(location: string): LakeStorage;
  /** Subscribes to byte progress of S3 fetches; returns the unsubscribe. */
  onTransfer(listener: (progress: TransferProgress & { what: string }) => void): () => void;
  /** Reports progress to the subscribers (used by the sources while they fetch). */
  reportTransfer(progress: TransferProgress & { what: string }): void;
  /**
   * Storage like this one (same cache folder, limit and parallelism) with other S3 settings: a Test
   * connection's overrides must not fetch into another folder, beyond s3.cache_max_gb.
   */
  withSettings(settings: S3Settings): ProjectStorage;
}

export interface ProjectStorageOptions {
  root: string;
  settings?: S3Settings;
  /** Default `<root>/.lakehouse/s3-cache`. */
  cacheDir?: string;
  cacheMaxBytes?: number;
  parallel?: number;
}

export function createProjectStorage(options: ProjectStorageOptions): ProjectStorage {
  const settings = options.settings ?? {};
  let client: S3Client | undefined;
  const getClient = () => {
    client ??= createS3Client(settings);
    return client;
  };
  const listeners = new Set<(progress: TransferProgress & { what: string }) => void>();
  const lakes = new Map<string, LakeStorage>();
  return {
    settings,
    client: getClient,
    cache: createObjectCache(getClient, {
      dir: options.cacheDir ?? join(options.root, '.lakehouse', 's3-cache'),
      maxBytes: options.cacheMaxBytes,
      parallel: options.parallel,
    }),
    lake(location) {
      let lake = lakes.get(location);
      if (!lake) {
        if (isS3Uri(location)) {
          const { bucket, prefix } = parseS3Uri(location);
          // The prefix names the mirror's folder: a `..` in it would put the mirror, and the clean-up
          // that deletes stray partition files there, outside the project.
          if (
            prefix !== '' &&
            prefix.split('/').some((segment) => segment === '.' || segment === '..' || segment === '')
          ) {
            throw new LakehouseError(
              'PROJECT_INVALID',
              `lake: ${location} in lakehouse.yaml has an empty, '.' or '..' segment in its prefix; write the prefix ` +
                'plainly (s3://bucket/some/prefix).',
              { lake: location },
            );
          }
          lake = s3Lake(location, join(options.root, '.lakehouse', 'lake-mirror', bucket, prefix), getClient);
        } else {
          lake = localLake(location);
        }
        lakes.set(location, lake);
      }
      return lake;
    },
    onTransfer(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    reportTransfer(progress) {
      for (const listener of listeners) listener(progress);
    },
    withSettings(other) {
      return createProjectStorage({ ...options, settings: other });
    },
  };
}

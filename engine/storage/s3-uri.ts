import { LakehouseError } from '../api/errors.ts';

/** A bucket and a key prefix (no leading or trailing slash; '' for the bucket root). */
export interface S3Location {
  bucket: string;
  prefix: string;
}

export function isS3Uri(path: string): boolean {
  return /^s3:\/\//i.test(path);
}

/** Parses `s3://bucket/some/prefix/` into its bucket and prefix; rejects anything else with the reason. */
export function parseS3Uri(uri: string): S3Location {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(uri.trim());
  const bucket = match?.[1] ?? '';
  if (!match || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `${uri} is not an S3 URI: expected s3://bucket/prefix with a bucket name of 3-63 lowercase letters, digits, dots or hyphens.`,
      { uri },
    );
  }
  return { bucket, prefix: (match[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

/** Joins key parts with single slashes, dropping empty parts. */
export function joinKey(...parts: string[]): string {
  return parts
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter((p) => p.length > 0)
    .join('/');
}

export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

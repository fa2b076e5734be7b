import { LakehouseError } from '../api/errors.ts';

/** A bucket and a key prefix (no leading or trailing slash; '' for the bucket root). */
export interface S3Location {
  bucket: string;
  prefix: string;
}

/** `scheme:` of two characters or more, so a Windows drive letter (`C:\\data`) stays a path. */
const SCHEME = /^[a-z][a-z0-9+.-]+:/i;

/**
 * How a location given by the user is reached: an S3 URI, a `file:` URI (only where the caller takes
 * one, the Iceberg warehouse) or a local path. Anything else that looks like a URI (`s3:/x`, `S3://x`,
 * `s3a://x`, `https://x`) is refused: taken as a path it would quietly become a local folder of that name.
 */
export function locationKind(
  location: string,
  accept: { fileUri?: boolean } = {},
): 's3' | 'file-uri' | 'path' {
  const trimmed = location.trim();
  if (trimmed.startsWith('s3://')) {
    parseS3Uri(trimmed);
    return 's3';
  }
  if (!SCHEME.test(trimmed)) return 'path';
  if (accept.fileUri && trimmed.startsWith('file:')) return 'file-uri';
  throw new LakehouseError(
    'INVALID_ARGUMENT',
    `${location} is neither an S3 URI nor a local path: expected s3://bucket/prefix (lowercase s3, two slashes)` +
      `${accept.fileUri ? ', a file: URI' : ''} or a local folder or file (./${trimmed} if the name really has a colon).`,
    { uri: location },
  );
}

/** Whether a location is an s3:// URI (false for a local path); refuses a malformed one as locationKind does. */
export function isS3Uri(location: string): boolean {
  return locationKind(location) === 's3';
}

/** Parses `s3://bucket/some/prefix/` into its bucket and prefix; rejects anything else with the reason. */
export function parseS3Uri(uri: string): S3Location {
  // Lowercase only: `S3://` is not an S3 URI to the AWS tools either.
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri.trim());
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

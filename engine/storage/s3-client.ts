import type { S3Client } from '@aws-sdk/client-s3';
import { LakehouseError } from '../api/errors.ts';
import { awsCredentialsFor, awsRegionOfProfile } from './aws-chain.ts';
import { missingAwsProfile } from './aws-profiles.ts';
import { s3Sdk } from './aws-sdk.ts';
import { s3Uri } from './s3-uri.ts';

/** Where and how to reach S3: the `s3` block of lakehouse.yaml. Credentials never live here. */
export interface S3Settings {
  /** An S3-compatible endpoint (MinIO, s3rver, ...); default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, then AWS. */
  endpoint?: string;
  region?: string;
  /** A profile of the shared AWS config and credentials files (AWS_PROFILE otherwise). */
  profile?: string;
  /** Path-style addressing (http://host/bucket/key); default on when an endpoint is set. */
  force_path_style?: boolean;
  /** Attempts per request, retried with exponential backoff on throttling, 5xx and dropped connections. */
  max_attempts?: number;
}

/**
 * An S3 client from the standard AWS chain (environment, shared files with `profile`, SSO, instance
 * metadata). Against a custom endpoint, checksums are only sent when required: SDK >= 3.729 frames
 * streamed bodies with aws-chunked checksums that S3-compatible stores (s3rver) store verbatim.
 */
export function createS3Client(settings: S3Settings = {}): S3Client {
  const endpoint = settings.endpoint ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const region = settings.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  const profile = settings.profile ?? process.env.AWS_PROFILE;
  const credentials = awsCredentialsFor(settings.profile);
  const client = new (s3Sdk().S3Client)({
    // The profile's own region (region = ... in its config section) counts, as for the AWS CLI.
    region: region ?? awsRegionOfProfile(settings.profile, endpoint),
    ...(settings.profile ? { profile: settings.profile } : {}),
    ...(endpoint
      ? {
          endpoint,
          forcePathStyle: settings.force_path_style ?? true,
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : { forcePathStyle: settings.force_path_style ?? false }),
    credentials: credentials.provider,
    // A bucket in another region than the one set answers 301 naming its region: follow it rather than fail.
    followRegionRedirects: true,
    maxAttempts: settings.max_attempts ?? 8,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: 10_000,
      requestTimeout: 120_000,
      httpAgent: { keepAlive: true, maxSockets: 64 },
      httpsAgent: { keepAlive: true, maxSockets: 64 },
    },
  });
  if (profile) refuseMissingProfile(client, profile, settings.profile ? 's3.profile' : 'AWS_PROFILE');
  forgetRefusedCredentials(client, credentials.forget);
  forgetCredentialsOfEditedFiles(client, credentials.forgetIfFilesChanged);
  return client;
}

/**
 * Before each request until the profile is found, checks that it exists in the shared AWS files: the SDK
 * would otherwise fail on the region or credentials it could not read from it, never naming it. Checked
 * per request, not at creation, so a client made but never used (a local Iceberg warehouse) is no error.
 */
function refuseMissingProfile(client: S3Client, profile: string, origin: string): void {
  let found = false;
  client.middlewareStack.add(
    (next) => async (args) => {
      if (!found) {
        const missing = missingAwsProfile(profile, origin);
        if (missing) throw missing;
        found = true;
      }
      return next(args);
    },
    { step: 'initialize', name: 'lakehouseProfileCheck' },
  );
}

/**
 * Before each request, forgets the credentials in use if the shared files changed since they were read
 * (rotated keys, a new session token): the request after an edit signs with what the files now hold,
 * rather than with old keys until S3 refuses them.
 */
function forgetCredentialsOfEditedFiles(client: S3Client, forgetIfFilesChanged: () => void): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      forgetIfFilesChanged();
      return next(args);
    },
    { step: 'initialize', name: 'lakehouseForgetCredentialsOfEditedFiles' },
  );
}

/**
 * After S3 refused the credentials in use (expired, unknown key), the next request resolves them again,
 * so refreshing them (`aws sso login`, new session keys) and retrying works without reopening the project.
 */
function forgetRefusedCredentials(client: S3Client, forget: () => void): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const name = (error as { name?: string }).name ?? '';
        if (
          /ExpiredToken|TokenRefreshRequired|InvalidAccessKeyId|InvalidToken|SignatureDoesNotMatch/.test(name)
        )
          forget();
        throw error;
      }
    },
    { step: 'initialize', name: 'lakehouseForgetRefusedCredentials' },
  );
}

interface SdkError {
  name?: string;
  Code?: string;
  message?: string;
  /** S3's <Region> of AuthorizationHeaderMalformed. */
  Region?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
}

/** The region S3 says the bucket is in, when an error says it is not the one the request was signed for. */
function expectedRegion(
  e: SdkError,
  name: string,
  status: number | undefined,
  reason: string,
): string | undefined {
  const wrongRegion =
    status === 301 ||
    /^(PermanentRedirect|AuthorizationHeaderMalformed|IllegalLocationConstraintException)$/.test(name);
  if (!wrongRegion) return undefined;
  return (
    e.$response?.headers?.['x-amz-bucket-region'] ??
    e.Region ??
    /expecting '([a-z0-9-]+)'/.exec(reason)?.[1] ??
    (/region/i.test(reason) || status === 301 ? 'another region' : undefined)
  );
}

/**
 * Turns an SDK failure into a LakehouseError that names the bucket, the key and what to do. Retryable
 * faults (throttling, 5xx, dropped connections) reach here only after the client's retries ran out.
 */
export function s3Failure(
  error: unknown,
  target: { bucket: string; key?: string; action: string },
): LakehouseError {
  if (error instanceof LakehouseError) return error;
  const e = (error ?? {}) as SdkError;
  const name = e.name ?? e.Code ?? '';
  const status = e.$metadata?.httpStatusCode;
  const where = target.key === undefined ? `bucket ${target.bucket}` : s3Uri(target.bucket, target.key);
  const details = { bucket: target.bucket, key: target.key, action: target.action, s3Error: name, status };
  const reason = (e.message ?? String(error)).split('\n')[0];
  if (name === 'NoSuchBucket' || (status === 404 && target.key === undefined)) {
    return new LakehouseError(
      'STORAGE_BUCKET_MISSING',
      `Cannot ${target.action} ${where}: bucket ${target.bucket} does not exist (or is in another account or endpoint). ` +
        'Check the bucket name (in lakehouse.yaml or the s3:// path given on the command line), or create it, and the s3.endpoint / AWS_ENDPOINT_URL_S3 setting.',
      details,
    );
  }
  if (/CredentialsProviderError|Could not load credentials/i.test(`${name} ${reason}`)) {
    return new LakehouseError(
      'STORAGE_ACCESS_DENIED',
      `Cannot ${target.action} ${where}: no AWS credentials found (${reason}). ` +
        'Check the profile in the shared AWS files (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, ~/.aws), set AWS_PROFILE or s3.profile in lakehouse.yaml, ' +
        'run `aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.',
      details,
    );
  }
  // A setup error, not a failing store: said as such (the SDK's message is a bare "Region is missing").
  if (/Region is missing/i.test(reason ?? '')) {
    return new LakehouseError(
      'PROJECT_INVALID',
      `Cannot ${target.action} ${where}: no AWS region is set. Give the bucket's region (s3.region in ` +
        "lakehouse.yaml, or Region in the app's source form), set AWS_REGION, or add region = ... to the AWS " +
        'profile in use (~/.aws/config).',
      details,
    );
  }
  const bucketRegion = expectedRegion(e, name, status, reason ?? '');
  if (bucketRegion !== undefined) {
    const known = bucketRegion !== 'another region';
    const signedFor = /the region '([a-z0-9-]+)' is wrong/.exec(reason ?? '')?.[1];
    return new LakehouseError(
      'PROJECT_INVALID',
      `Cannot ${target.action} ${where}: bucket ${target.bucket} is in ${known ? `region ${bucketRegion}` : 'another region'}, ` +
        `not ${signedFor ?? 'the region set'}. Set s3.region${known ? `: ${bucketRegion}` : " to the bucket's region"} in lakehouse.yaml ` +
        "(or Region in the app's source form, or AWS_REGION), and check s3.endpoint.",
      { ...details, bucketRegion: known ? bucketRegion : undefined },
    );
  }
  if (/ExpiredToken|TokenRefreshRequired|RequestExpired|ExpiredTokenException/.test(name)) {
    return new LakehouseError(
      'STORAGE_ACCESS_DENIED',
      `Cannot ${target.action} ${where}: the AWS credentials have expired. Refresh them (\`aws sso login\`, or new session keys) and retry.`,
      details,
    );
  }
  // A download pinned to the listed ETag (If-Match) of an object replaced since: a delivery being rewritten.
  if (name === 'PreconditionFailed' || status === 412) {
    return new LakehouseError(
      'SOURCE_UNREADABLE',
      `Cannot ${target.action} ${where}: it changed since it was listed (its ETag no longer matches), so it is ` +
        'being rewritten or was replaced meanwhile. Nothing of it was read; re-run once the object is complete.',
      details,
    );
  }
  if (
    status === 403 ||
    /AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch|AllAccessDisabled|Forbidden/.test(name)
  ) {
    return new LakehouseError(
      'STORAGE_ACCESS_DENIED',
      `Cannot ${target.action} ${where}: access denied (${name || status}). ` +
        `Check that the credentials in use (profile, environment) allow s3:${actionPermission(target.action)} on it, and that the keys are right.`,
      details,
    );
  }
  if (name === 'NoSuchKey' || status === 404) {
    return new LakehouseError(
      'SOURCE_MISSING',
      `Cannot ${target.action} ${where}: no such object. It may have been deleted or renamed; list the prefix and fix the path.`,
      details,
    );
  }
  // Virtual-hosted addressing puts the bucket in the host name, which a custom endpoint's DNS rarely knows.
  const unresolved = /getaddrinfo (?:ENOTFOUND|EAI_AGAIN) (\S+)/.exec(reason ?? '')?.[1];
  if (unresolved !== undefined) {
    const bucketInHost = unresolved.startsWith(`${target.bucket}.`);
    return new LakehouseError(
      'STORAGE_UNAVAILABLE',
      `Cannot ${target.action} ${where}: host ${unresolved} does not resolve. ` +
        (bucketInHost
          ? 'The bucket is addressed in the host name (virtual-hosted style): set s3.force_path_style: true in ' +
            'lakehouse.yaml for a store that serves buckets as paths (MinIO, s3rver, most self-hosted stores).'
          : 'Check s3.endpoint (or AWS_ENDPOINT_URL_S3) and the network, then re-run.'),
      { ...details, host: unresolved },
    );
  }
  return new LakehouseError(
    'STORAGE_UNAVAILABLE',
    `Cannot ${target.action} ${where} after retries: ${name || 'error'}${status ? ` (HTTP ${status})` : ''}: ${reason}. ` +
      'The store is throttling or failing; check the endpoint and network, then re-run (nothing half-written was published).',
    details,
  );
}

function actionPermission(action: string): string {
  if (action.startsWith('list')) return 'ListBucket';
  if (action.startsWith('upload') || action.startsWith('write') || action.startsWith('publish'))
    return 'PutObject';
  if (action.startsWith('delete')) return 'DeleteObject';
  return 'GetObject';
}

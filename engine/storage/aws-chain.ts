import type { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { awsProfileRegion, sharedAwsFilesStamp } from './aws-profiles.ts';
import { credentialsSdk, s3Sdk } from './aws-sdk.ts';

// The region and credentials the AWS clients use, kept in step with the shared AWS files: the SDK reads
// those files once per process, so an app left open would keep what ~/.aws held when it started.

/**
 * The region of the profile in use, read again once the shared files were edited (by modification time
 * and size, looked at per request): the SDK reads it once per client, so an app left open kept the
 * region it started with. With no region there, a custom endpoint gets us-east-1 (its stores ignore
 * it), and AWS the SDK's own default (the EC2 instance's region, or its "Region is missing").
 */
export function awsRegionOfProfile(
  profile: string | undefined,
  endpoint: string | undefined,
): () => Promise<string> {
  let read: { stamp: string; region: string | undefined } | undefined;
  let sdkDefault: (() => Promise<string>) | undefined;
  return async () => {
    const stamp = sharedAwsFilesStamp();
    if (read?.stamp !== stamp)
      read = { stamp, region: awsProfileRegion(profile ?? process.env.AWS_PROFILE ?? 'default') };
    if (read.region) return read.region;
    if (endpoint) return 'us-east-1';
    sdkDefault ??= new (s3Sdk().S3Client)(profile ? { profile } : {}).config.region;
    return sdkDefault();
  };
}

/** Far enough never to expire by itself: credentials the chain gives without an expiry. */
const NO_EXPIRY_MS = 100 * 365 * 24 * 3600 * 1000;

type AwsCredentials = Awaited<ReturnType<ReturnType<typeof fromNodeProviderChain>>>;

/**
 * The standard chain; a failure names the profile it looked for, so the error can say which. `forget`
 * makes the client resolve them again before its next request: it otherwise keeps credentials without
 * an expiry (keys or session tokens in the shared files) for as long as the project stays open.
 */
export function awsCredentialsFor(profile: string | undefined) {
  let current: (AwsCredentials & { expiration: Date }) | undefined;
  let filesStamp: string | undefined;
  const provider = async () => {
    try {
      // Taken before the files are read: an edit made meanwhile is read by the next request.
      filesStamp = sharedAwsFilesStamp();
      // A chain per resolution, reading the files afresh (ignoreCache): the SDK otherwise keeps their first
      // read (a failed one too) for the life of the process, and the chain its first answer.
      const chain = credentialsSdk().fromNodeProviderChain({
        ...(profile ? { profile } : {}),
        ignoreCache: true,
      });
      const resolved = await chain();
      // Our own expiry, which forget() moves to the past: the SDK re-resolves credentials that have one.
      current = {
        ...resolved,
        expiration: new Date(resolved.expiration?.getTime() ?? Date.now() + NO_EXPIRY_MS),
      };
      return current;
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      const named = new Error(profile ? `profile "${profile}": ${reason}` : reason);
      named.name = 'CredentialsProviderError';
      throw named;
    }
  };
  return {
    provider,
    forget: () => {
      current?.expiration.setTime(0);
    },
    forgetIfFilesChanged: () => {
      if (current && filesStamp !== sharedAwsFilesStamp()) current.expiration.setTime(0);
    },
  };
}

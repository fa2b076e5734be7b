import { createRequire } from 'node:module';

// The AWS SDK takes about 0.2 s to load and a project on local disk never calls it, so the storage code
// loads it on first use rather than on every command. Its packages are CommonJS (no "exports" map), so
// require() returns, synchronously, the same module an import would.
const require = createRequire(import.meta.url);

export const s3Sdk = (): typeof import('@aws-sdk/client-s3') => require('@aws-sdk/client-s3');
export const s3UploadSdk = (): typeof import('@aws-sdk/lib-storage') => require('@aws-sdk/lib-storage');
export const credentialsSdk = (): typeof import('@aws-sdk/credential-providers') =>
  require('@aws-sdk/credential-providers');

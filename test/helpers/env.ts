import { join } from 'node:path';

/**
 * Saves the variables `names` of process.env, for a test that sets its own (temporary AWS files, never
 * ~/.aws); the function it returns puts each back as it was, removed if it was unset.
 */
export function saveEnv(names: readonly string[]): () => void {
  const saved = new Map(names.map((name) => [name, process.env[name]]));
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** Saves the variables `names` as saveEnv does and removes them, so the test starts from none of them. */
export function clearEnv(names: readonly string[]): () => void {
  const restore = saveEnv(names);
  for (const name of names) delete process.env[name];
  return restore;
}

/** What the SDK reads credentials and the profile from: a test of the shared AWS files starts from none. */
export const AWS_FILE_SETTINGS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONFIG_FILE',
  'AWS_EC2_METADATA_DISABLED',
];

/**
 * Points the AWS SDK at the shared files `config` and `credentials` in `dir` (temporary, never ~/.aws),
 * with every other source of keys and profile cleared, `alsoClear` too, and no EC2 metadata lookup.
 * Returns the function that puts the environment back.
 */
export function useAwsFilesIn(dir: string, alsoClear: readonly string[] = []): () => void {
  const restore = clearEnv([...AWS_FILE_SETTINGS, ...alsoClear]);
  process.env.AWS_CONFIG_FILE = join(dir, 'config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  return restore;
}

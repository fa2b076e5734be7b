import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LakehouseError } from '../api/errors.ts';
import { didYouMean } from '../project/config-issues.ts';

// Which named AWS profiles exist, read from the shared files the way the AWS SDK finds them, so that a
// mistyped or absent profile is named as such instead of surfacing as the SDK's "Region is missing".
// Only section headers are read: no key or secret is ever kept.

/** The shared AWS files in the order the SDK reads them, with the setting that chose each path. */
export function sharedAwsFiles(env: NodeJS.ProcessEnv = process.env): { path: string; how: string }[] {
  const home = env.HOME || env.USERPROFILE || homedir();
  return [
    env.AWS_CONFIG_FILE
      ? { path: env.AWS_CONFIG_FILE, how: 'AWS_CONFIG_FILE' }
      : { path: join(home, '.aws', 'config'), how: 'default; AWS_CONFIG_FILE moves it' },
    env.AWS_SHARED_CREDENTIALS_FILE
      ? { path: env.AWS_SHARED_CREDENTIALS_FILE, how: 'AWS_SHARED_CREDENTIALS_FILE' }
      : { path: join(home, '.aws', 'credentials'), how: 'default; AWS_SHARED_CREDENTIALS_FILE moves it' },
  ];
}

/**
 * The profile names the shared files define: `[default]` and `[profile name]` in the config file,
 * `[name]` in the credentials file. As in the SDK, a section with no `key = value` line defines nothing.
 */
export function awsProfileNames(env: NodeJS.ProcessEnv = process.env): string[] {
  const [config, credentials] = sharedAwsFiles(env);
  const names = new Set<string>();
  for (const [file, inConfig] of [
    [config, true],
    [credentials, false],
  ] as const) {
    if (!file) continue;
    let text: string;
    try {
      text = readFileSync(file.path, 'utf8');
    } catch {
      continue;
    }
    let section: string | undefined;
    for (const raw of text.split(/\r?\n/)) {
      const line = (raw.split(/(?:^|\s)[;#]/)[0] ?? '').trim();
      const header = /^\[\s*(.*?)\s*\]$/.exec(line);
      if (header) {
        const name = header[1] ?? '';
        const prefixed = /^profile\s+["']?([^"'\s]+)["']?$/.exec(name);
        section = inConfig ? (name === 'default' ? name : prefixed?.[1]) : name;
      } else if (section !== undefined && line.indexOf('=') > 0) names.add(section);
    }
  }
  return [...names].sort();
}

/**
 * Undefined when `profile` exists in the shared files; otherwise the error naming it, where it came from,
 * the files looked in and the profiles they hold.
 */
export function missingAwsProfile(
  profile: string,
  origin: string,
  env: NodeJS.ProcessEnv = process.env,
): LakehouseError | undefined {
  const known = awsProfileNames(env);
  if (known.includes(profile)) return undefined;
  const files = sharedAwsFiles(env);
  const where = files.map((f) => `${f.path} (${f.how})`).join(' and ');
  return new LakehouseError(
    'PROJECT_INVALID',
    `AWS profile "${profile}" (${origin}) does not exist: no [profile ${profile}] in the config file and no ` +
      `[${profile}] in the credentials file, looked up in ${where}` +
      `${known.length > 0 ? `, which define ${known.join(', ')}${didYouMean(profile, known)}` : ', which define no profile'}. ` +
      `Create it (aws configure --profile ${profile}, or aws configure sso), or give a profile that exists.`,
    { profile, files: files.map((f) => f.path), profiles: known },
  );
}

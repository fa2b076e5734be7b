import { readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LakehouseError } from '../api/errors.ts';
import { didYouMean } from '../project/config-issues.ts';

// Which named AWS profiles exist, read from the shared files the way the AWS SDK finds them, so that a
// mistyped or absent profile is named as such instead of surfacing as the SDK's "Region is missing".
// Only section headers and a profile's region are kept: no key or secret.

/** The shared AWS files in the order the SDK reads them, with the setting that chose each path. */
export function sharedAwsFiles(env: NodeJS.ProcessEnv = process.env): { path: string; how: string }[] {
  const home = env.HOME || env.USERPROFILE || homedir();
  // The SDK reads a variable's leading `~/` as the home folder (a shell does not expand it in quotes or a
  // launcher's settings): taken as a folder named ~, the profile would be "missing" while the SDK finds it.
  const fromHome = (path: string) => (path.startsWith('~/') ? join(home, path.slice(2)) : path);
  return [
    env.AWS_CONFIG_FILE
      ? { path: fromHome(env.AWS_CONFIG_FILE), how: 'AWS_CONFIG_FILE' }
      : { path: join(home, '.aws', 'config'), how: 'default; AWS_CONFIG_FILE moves it' },
    env.AWS_SHARED_CREDENTIALS_FILE
      ? { path: fromHome(env.AWS_SHARED_CREDENTIALS_FILE), how: 'AWS_SHARED_CREDENTIALS_FILE' }
      : { path: join(home, '.aws', 'credentials'), how: 'default; AWS_SHARED_CREDENTIALS_FILE moves it' },
  ];
}

/**
 * Each file's path, modification time and size (or absence): a different stamp means a file was
 * edited, so what was read from them is read again, without reading them before every request.
 */
export function sharedAwsFilesStamp(env: NodeJS.ProcessEnv = process.env): string {
  return sharedAwsFiles(env)
    .map((file) => {
      try {
        const stat = statSync(file.path);
        return `${file.path}:${stat.mtimeMs}:${stat.size}`;
      } catch {
        return `${file.path}:absent`;
      }
    })
    .join('|');
}

/**
 * Calls `visit` for each `key = value` line of the shared files with the profile its section defines:
 * `[default]` and `[profile name]` in the config file, `[name]` in the credentials file. Lines nested
 * under a key with no value (`s3 =` then indented settings) are not the profile's own, as in the SDK.
 */
function eachProfileSetting(
  env: NodeJS.ProcessEnv,
  visit: (profile: string, key: string, value: string, inConfig: boolean) => void,
): void {
  const [config, credentials] = sharedAwsFiles(env);
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
    let nestedUnder: string | undefined;
    for (const raw of text.split(/\r?\n/)) {
      const line = (raw.split(/(?:^|\s)[;#]/)[0] ?? '').trim();
      const header = /^\[\s*(.*?)\s*\]$/.exec(line);
      if (header) {
        const name = header[1] ?? '';
        const prefixed = /^profile\s+["']?([^"'\s]+)["']?$/.exec(name);
        section = inConfig ? (name === 'default' ? name : prefixed?.[1]) : name;
        nestedUnder = undefined;
      } else if (section !== undefined && line.indexOf('=') > 0) {
        const key = line.slice(0, line.indexOf('=')).trim();
        const value = line.slice(line.indexOf('=') + 1).trim();
        if (nestedUnder !== undefined && raw.trimStart() === raw) nestedUnder = undefined;
        visit(section, nestedUnder === undefined ? key : `${nestedUnder}.${key}`, value, inConfig);
        if (value === '') nestedUnder = key;
      }
    }
  }
}

/**
 * The profile names the shared files define. As in the SDK, a section with no `key = value` line
 * defines nothing.
 */
export function awsProfileNames(env: NodeJS.ProcessEnv = process.env): string[] {
  const names = new Set<string>();
  eachProfileSetting(env, (profile) => names.add(profile));
  return [...names].sort();
}

/**
 * The `region` of `profile`, read from the shared files now. As in the SDK, the credentials file's
 * wins over the config file's.
 */
export function awsProfileRegion(profile: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const found: { config?: string; credentials?: string } = {};
  eachProfileSetting(env, (name, key, value, inConfig) => {
    if (name === profile && key === 'region' && value !== '')
      found[inConfig ? 'config' : 'credentials'] = value;
  });
  return found.credentials ?? found.config;
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

import { homedir } from 'node:os';
import { join } from 'node:path';
import { LakehouseError } from '../api/errors.ts';

/**
 * A path starting with `~` as a shell would expand it: lakehouse.yaml's paths are not expanded, so `~/data`
 * named a folder `~` inside the project, which every run then reported missing. Apart from save.ts so that
 * loading a project (config.ts, which save.ts imports) refuses it in the same words as saving a source.
 */
export function homeRelativePathError(path: string, field = 'source.path'): LakehouseError | undefined {
  const home = /^~([^/\\]*)(.*)$/.exec(path.trim());
  if (!home) return undefined;
  const [, user, rest = ''] = home;
  const full = user === '' ? `, such as ${join(homedir(), rest)}` : '';
  return new LakehouseError(
    'INVALID_ARGUMENT',
    `${field}: "${path}" starts with ~, which lakehouse.yaml does not expand (it would be a folder named ` +
      `${user === '' ? '~' : `~${user}`} inside the project): write the full path${full}.`,
    { field, path },
  );
}

import { homedir } from 'node:os';
import { join } from 'node:path';
import { LakehouseError } from '../api/errors.ts';

// Checks of a source's settings that its schema cannot word well, in one place for the three that apply
// them: loading a project (config.ts), saving a source from the app (save.ts, which imports config.ts) and
// testing one (probe.ts), so each refuses in the same words.

/**
 * A path starting with `~` as a shell would expand it: lakehouse.yaml's paths are not expanded, so `~/data`
 * named a folder `~` inside the project, which every run then reported missing.
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

/**
 * A daily source's date_format names one folder per day, so it holds %Y, %m and %d once each and no other
 * directive: `%Y%m` (monthly folders) failed as "folder 202206 is no calendar date (2022-06-undefined)", and
 * `YYYY-MM-DD` matched no folder at all.
 */
export function dateFormatError(format: string, field = 'source.date_format'): LakehouseError | undefined {
  const directives = format.match(/%./g) ?? [];
  const once = (d: string) => directives.filter((x) => x === d).length === 1;
  const other = directives.filter((d) => !['%Y', '%m', '%d'].includes(d));
  if (once('%Y') && once('%m') && once('%d') && other.length === 0) return undefined;
  return new LakehouseError(
    'INVALID_ARGUMENT',
    `${field}: "${format}" ${other.length > 0 ? `has ${other.join(', ')}, which a day folder's name cannot hold; it` : ''}` +
      `${other.length > 0 ? ' ' : ''}must hold %Y, %m and %d once each, as a daily source has one folder per day: e.g. %Y%m%d (20220601), %Y-%m-%d or %Y/%m/%d.`,
    { field, format },
  );
}

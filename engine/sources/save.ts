import { readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Document, isMap, isScalar, isSeq, parseDocument, type YAMLMap } from 'yaml';
import { LakehouseError } from '../api/errors.ts';
import { PROJECT_FILE, type Project, ProjectConfig, SourceConfig } from '../project/config.ts';
import { configErrorMap, issueLines, locateIssues } from '../project/config-issues.ts';
import { dateFormatError, homeRelativePathError } from '../project/source-settings.ts';
import { writeFileAtomically } from '../storage/atomic-file.ts';
import { locationKind } from '../storage/s3-uri.ts';

/** S3 settings a saved source may bring along; they go to the project's top-level `s3:` block. */
export interface SourceS3Settings {
  profile?: string;
  endpoint?: string;
  region?: string;
}

export interface SaveSourceRequest {
  name: string;
  /** The definition as in lakehouse.yaml (`kind`, `path` or `url`, ...). */
  source: Record<string, unknown>;
  /** Overwrite an existing source of that name (editing); otherwise a clash is refused. */
  replace: boolean;
  s3?: SourceS3Settings;
}

export interface SaveSourceResult {
  name: string;
  replaced: boolean;
  /**
   * True when the S3 settings changed: the project's S3 client (shared by the sources and the lake) is
   * built when the project opens, so they take effect when it is reopened. Sources take effect at once.
   */
  reopenRequired: boolean;
}

/** A source name becomes a view (`source.<name>`) models read, so it must be a plain SQL identifier. */
const SOURCE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Keys that would put credentials in lakehouse.yaml, which is meant to be shared and committed. */
const SECRET_KEY = /access[_-]?key|secret|session[_-]?token|password|credential/i;
/** Values shaped like an AWS access key id (AKIA..., ASIA...), whatever the key is called. */
const AWS_KEY_ID = /\b(AKIA|ASIA)[A-Z0-9]{16}\b/;

/**
 * Adds or replaces a source in lakehouse.yaml and in the open project. The file is edited as a YAML
 * document (comments, key order and every other setting stay as they were) and replaced atomically,
 * so a crash leaves the old file or the new one, never half of one.
 */
export async function saveSource(project: Project, request: SaveSourceRequest): Promise<SaveSourceResult> {
  checkName(request.name);
  refuseSecrets(request.source, 'source');
  if (request.s3) refuseSecrets(request.s3, 's3');
  parseSource(request.source);
  let replaced = request.name in project.config.sources;
  const s3Changes = Object.entries(request.s3 ?? {}).filter(
    ([key, value]) =>
      value !== undefined && value !== '' && project.config.s3[key as keyof SourceS3Settings] !== value,
  );
  const config = await editProjectFile(project, (document) => {
    // Only the keys the caller gave: defaults stay implicit, as a person would write the file.
    const written = document.getIn(['sources', request.name], true);
    // The file, not only the project as loaded: a source written there by hand since was overwritten.
    replaced ||= written !== undefined;
    if (replaced && !request.replace) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `A source named "${request.name}" already exists in lakehouse.yaml; choose another name, or edit it (replace: true).`,
        { field: 'name', name: request.name },
      );
    }
    if (isMap(written)) mergeInto(document, written, request.source);
    else document.setIn(['sources', request.name], document.createNode(request.source));
    for (const [key, value] of s3Changes) document.setIn(['s3', key], value);
  });
  // Sources are read when a run or a test needs them, so swapping them in takes effect at once. The
  // S3 block is not swapped in: the lake shares its client (see SaveSourceResult.reopenRequired).
  project.config.sources = config.sources;
  return { name: request.name, replaced, reopenRequired: s3Changes.length > 0 };
}

/**
 * Writes `value` over a source's node in place, so what an edit leaves unchanged keeps its comments,
 * quotes and flow style (a whole new node would drop them all): keys it lacks are removed, a scalar
 * takes its new value in its old node, a map is merged the same way, and a list stays flow or block.
 */
function mergeInto(document: Document, node: YAMLMap, value: Record<string, unknown>): void {
  for (const pair of [...node.items]) {
    const key = isScalar(pair.key) ? pair.key.value : pair.key;
    if (typeof key !== 'string' || !(key in value)) node.delete(pair.key);
  }
  for (const [key, next] of Object.entries(value)) {
    const existing = node.get(key, true);
    if (existing !== undefined && JSON.stringify(toJson(existing)) === JSON.stringify(next)) continue;
    // A section whose entries are all commented out reads as null, as empty as `{}`: replacing it dropped
    // those comments, which yaml holds on the null, so it stays; entries written into it keep them below.
    const emptySection = isScalar(existing) && existing.value === null;
    const nextIsMap = next !== null && typeof next === 'object' && !Array.isArray(next);
    if (emptySection && nextIsMap && Object.keys(next).length === 0) continue;
    if (isMap(existing) && next !== null && typeof next === 'object' && !Array.isArray(next)) {
      mergeInto(document, existing, next as Record<string, unknown>);
      continue;
    }
    if (isScalar(existing) && (next === null || typeof next !== 'object')) {
      existing.value = next;
      continue;
    }
    const created = document.createNode(next);
    if (isSeq(existing) && isSeq(created)) {
      created.flow = existing.flow;
      created.comment = existing.comment;
    }
    if (emptySection && isMap(created)) created.comment = existing.comment;
    node.set(key, created);
  }
}

const toJson = (node: unknown): unknown =>
  node !== null && typeof node === 'object' && 'toJSON' in node
    ? (node as { toJSON(): unknown }).toJSON()
    : node;

/** Refuses a source name lakehouse.yaml does not declare, listing those it does (remove and edit need one). */
function requireSource(project: Project, name: string): void {
  if (!(name in project.config.sources)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `No source "${name}" in lakehouse.yaml (sources: ${Object.keys(project.config.sources).join(', ')}).`,
      { field: 'name', name },
    );
  }
}

/** Removes a source from lakehouse.yaml and the open project; refused while a model reads it. */
export async function removeSource(project: Project, name: string, readers: string[]): Promise<void> {
  requireSource(project, name);
  if (readers.length > 0) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `Source "${name}" is read by ${readers.join(', ')}; change those models first, then remove it.`,
      { field: 'name', name, models: readers },
    );
  }
  const config = await editProjectFile(project, (document) => {
    document.deleteIn(['sources', name]);
  });
  project.config.sources = config.sources;
}

function checkName(name: string): void {
  if (!SOURCE_NAME.test(name)) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `name: "${name}" is not a valid source name; use letters, digits and _ (not starting with a digit), e.g. title_catalog.`,
      { field: 'name', name },
    );
  }
}

/**
 * Refuses a credential-named setting (only the definition's own keys: nested keys are column names or
 * header names, which may well say "password") and any value shaped like an access key id.
 */
function refuseSecrets(value: object, path: string): void {
  for (const [key, inner] of Object.entries(value)) {
    if (SECRET_KEY.test(key)) throw secretRefused(`${path}.${key}`);
    refuseKeyIds(inner, `${path}.${key}`);
  }
}

function refuseKeyIds(value: unknown, field: string): void {
  if (typeof value === 'string' && AWS_KEY_ID.test(value)) throw secretRefused(field);
  if (value === null || typeof value !== 'object') return;
  for (const [key, inner] of Object.entries(value)) refuseKeyIds(inner, `${field}.${key}`);
}

function secretRefused(field: string): LakehouseError {
  return new LakehouseError(
    'INVALID_ARGUMENT',
    `${field}: credentials never go in lakehouse.yaml. Use an AWS profile (s3.profile) or the AWS environment variables; for crawler headers, headers_from_env names a LAKEHOUSE_* environment variable.`,
    { field },
  );
}

/** Validates with the schema lakehouse.yaml is loaded with (which refuses unknown keys). */
function parseSource(raw: Record<string, unknown>): void {
  const parsed = SourceConfig.safeParse(raw, { error: configErrorMap });
  if (!parsed.success) {
    // An unknown key is the field at fault, not the object holding it.
    const fieldOf = (i: (typeof parsed.error.issues)[number]) =>
      `source.${[...i.path, ...(i.code === 'unrecognized_keys' ? i.keys.slice(0, 1) : [])].join('.') || 'kind'}`;
    const issues = parsed.error.issues.map((i) => `${fieldOf(i)}: ${i.message}`);
    const field = fieldOf(parsed.error.issues[0]!);
    throw new LakehouseError('INVALID_ARGUMENT', `The source definition is invalid: ${issues.join('; ')}`, {
      field,
      issues,
    });
  }
  if (parsed.data.kind === 'daily_parquet') {
    const badFormat = dateFormatError(parsed.data.date_format);
    if (badFormat) throw badFormat;
  }
  // A malformed URI (s3:/x) would be saved and then read as a folder of the project: refused here.
  if (parsed.data.kind !== 'crawl') {
    const homeRelative = homeRelativePathError(parsed.data.path);
    if (homeRelative) throw homeRelative;
    try {
      locationKind(parsed.data.path);
    } catch (error) {
      if (error instanceof LakehouseError) error.details.field = 'source.path';
      throw error;
    }
  }
}

/**
 * Applies `edit` to lakehouse.yaml as a document, checks the result is still a valid project, then
 * writes it to a temp file beside it and renames that over it (atomic on one file system).
 */
async function editProjectFile(
  project: Project,
  edit: (document: ReturnType<typeof parseDocument>) => void,
): Promise<ProjectConfig> {
  const file = join(project.root, PROJECT_FILE);
  const text = await readFile(file, 'utf8');
  const document = parseDocument(text);
  if (document.errors.length > 0 || !isMap(document.contents)) {
    throw new LakehouseError(
      'PROJECT_INVALID',
      `${file} cannot be edited: ${document.errors[0]?.message ?? 'it is not a mapping'}. Fix it by hand first.`,
      { path: file },
    );
  }
  // A file edited by hand into an invalid one since it was opened is not this save's doing: said as such,
  // at its line, where "the edit would make it invalid" sent the user looking at the source they saved.
  const asFound = ProjectConfig.safeParse(document.toJS(), { error: configErrorMap });
  if (!asFound.success) {
    const located = locateIssues(asFound.error.issues, document, text);
    const issues = issueLines(located);
    throw new LakehouseError(
      'PROJECT_INVALID',
      `${file} is invalid as it is, before this save: ${issues.join('; ')}. Fix it by hand, then save again.`,
      { path: file, line: located[0]?.line, issues },
    );
  }
  edit(document);
  const parsed = ProjectConfig.safeParse(document.toJS(), { error: configErrorMap });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `The edit would make ${file} invalid: ${issues.join('; ')}`,
      {
        path: file,
        field: parsed.error.issues[0]?.path.join('.'),
        issues,
      },
    );
  }
  // yaml pads flow collections (`[ a, b ]`) by default, which would rewrite every `[title, genres]`
  // of a file written unpadded (as init writes it) on each save: follow what the file does. It also
  // folds lines past 80 characters (a long path or note elsewhere in the file became two lines), and
  // writes LF without a byte order mark, which rewrote every line of a Windows editor's file.
  const written = document.toString({
    flowCollectionPadding: /[[{] [^\]}\s]/.test(text),
    lineWidth: 0,
  });
  const lineEnds = text.includes('\r\n') ? written.replaceAll('\n', '\r\n') : written;
  // The file a link points to is written, not the link (the rename replaced it by a copy, leaving the
  // linked file as it was), and it keeps its permissions, which the new file would take from the umask.
  const target = await realpath(file);
  const { mode } = await stat(target);
  await writeFileAtomically(target, text.startsWith('\uFEFF') ? `\uFEFF${lineEnds}` : lineEnds, {
    mode: mode & 0o7777,
  });
  return parsed.data;
}

/** A source as written in lakehouse.yaml (without the defaults loading adds), to fill an edit form. */
export async function sourceDefinition(project: Project, name: string): Promise<Record<string, unknown>> {
  requireSource(project, name);
  const document = parseDocument(await readFile(join(project.root, PROJECT_FILE), 'utf8'));
  const written: unknown = document.getIn(['sources', name]);
  // The file may have been edited by hand since it was loaded; the loaded definition is the fallback.
  return isMap(written) ? (written.toJSON() as Record<string, unknown>) : { ...project.config.sources[name] };
}

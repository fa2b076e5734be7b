import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  type Node,
  parseDocument,
  stringify as stringifyYaml,
} from 'yaml';
import { z } from 'zod';
import { LakehouseError } from '../api/errors.ts';
import { configErrorMap, didYouMean, issueLines, locateIssues } from './config-issues.ts';

const Columns = z
  .union([z.string(), z.array(z.string()).min(1)], {
    error:
      'give a column name, or a list of them such as [a, b] (quote a name YAML reads as a number: "2022")',
  })
  .transform((v) => (Array.isArray(v) ? v : [v]));
const Severity = z.enum(['error', 'warn']).default('error');

/** One item of `deduplicate.order_by`: a column of the model's output, its direction, where NULLs go. */
export interface OrderItem {
  column: string;
  direction?: 'ASC' | 'DESC';
  nulls?: 'NULLS FIRST' | 'NULLS LAST';
}

// `column [ASC|DESC] [NULLS FIRST|NULLS LAST]`, the column bare or in double quotes ("" for a quote).
// Nothing else is taken: the items become SQL, so an expression or a second statement must not get through.
const ORDER_ITEM =
  /^\s*(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))(?:\s+(ASC|DESC))?(?:\s+NULLS\s+(FIRST|LAST))?\s*$/i;

/** Splits `a, "b, c" DESC` at the commas outside double quotes. */
function splitOrderBy(text: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) {
      items.push(current);
      current = '';
    } else current += char;
  }
  items.push(current);
  return items;
}

/**
 * `deduplicate.order_by`: a comma-separated string (`datetime_log, source_file DESC`) or a list of
 * items, parsed into columns and keywords; the columns are checked against the model's output when it runs.
 */
const OrderBy = z.union([z.string(), z.array(z.string()).min(1)]).transform((value, ctx): OrderItem[] => {
  const texts = Array.isArray(value) ? value : splitOrderBy(value);
  const items: OrderItem[] = [];
  for (const text of texts) {
    const match = ORDER_ITEM.exec(text);
    if (!match) {
      ctx.addIssue({
        code: 'custom',
        message:
          `"${text.trim()}" is not an order item; give columns of the model's output, each with an optional ` +
          'ASC or DESC and NULLS FIRST or NULLS LAST, e.g. order_by: datetime_log DESC, source_file',
      });
      return z.NEVER;
    }
    const [, quoted, bare, direction, nulls] = match;
    items.push({
      column: quoted === undefined ? (bare as string) : quoted.replaceAll('""', '"'),
      ...(direction ? { direction: direction.toUpperCase() as OrderItem['direction'] } : {}),
      ...(nulls ? { nulls: `NULLS ${nulls.toUpperCase()}` as OrderItem['nulls'] } : {}),
    });
  }
  return items;
});

/** The data tests there are, by name: an entry is `{<name>: ..., severity: error|warn}`. */
const TESTS = {
  not_null: z.strictObject({ not_null: Columns, severity: Severity }),
  unique: z.strictObject({ unique: Columns, severity: Severity }),
  accepted_values: z.strictObject({
    accepted_values: z.strictObject({
      column: z.string(),
      // NULL never fails the test (not_null checks for it), and an empty list would fail every row.
      values: z
        .array(
          z.union([z.string(), z.number()], {
            error: 'a value is a string or a number (NULL always passes: add a not_null test for it)',
          }),
        )
        .min(1, 'list at least one value'),
    }),
    severity: Severity,
  }),
  relationships: z.strictObject({
    relationships: z.strictObject({ column: z.string(), to: z.string(), field: z.string() }),
    severity: Severity,
  }),
  /** SCD2 / bridge: one current row per key, no overlapping or gapped validity. */
  scd_invariants: z.strictObject({ scd_invariants: z.literal(true), severity: Severity }),
};
type TestName = keyof typeof TESTS;
export const TEST_NAMES = Object.keys(TESTS) as TestName[];

/**
 * Data tests a model declares; they run on the rows a run writes. The entry's test name picks its
 * schema, so an error speaks of that test and of the entry as written (a union said "Invalid input").
 */
export const DataTest = z
  .unknown()
  .transform((entry, ctx): { [K in TestName]: z.output<(typeof TESTS)[K]> }[TestName] => {
    const written = `(the test as written: ${stringifyYaml(entry, { collectionStyle: 'flow' }).trim()})`;
    const keys =
      entry !== null && typeof entry === 'object' && !Array.isArray(entry) ? Object.keys(entry) : [];
    const name = TEST_NAMES.find((n) => keys.includes(n));
    if (!name) {
      const typed = keys.find((k) => k !== 'severity');
      const what =
        keys.length === 0
          ? 'a test is a mapping such as {unique: <column>}'
          : typed === undefined
            ? 'no test name'
            : `"${typed}" is not a test${didYouMean(typed, TEST_NAMES)}`;
      ctx.addIssue({ code: 'custom', message: `${what}; tests: ${TEST_NAMES.join(', ')} ${written}` });
      return z.NEVER;
    }
    // `- unique: a` with `not_null: a` on the next line, without its own `- `, is one item holding two
    // tests: say so at the second, where the `- ` is missing (zod said only that the first is no key).
    const [first, second] = keys.filter((k) => (TEST_NAMES as string[]).includes(k));
    if (second !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [second],
        message:
          `"${first}" and "${second}" are two tests in one list item, and an item holds one test: ` +
          `start ${second}: with its own "- ", as ${first}: has ${written}`,
      });
      return z.NEVER;
    }
    const parsed = TESTS[name].safeParse(entry, { error: configErrorMap });
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues)
      ctx.addIssue({ ...issue, message: `${issue.message} ${written}` });
    return z.NEVER;
  });
export type DataTest = z.infer<typeof DataTest>;

export const Materialization = z.enum([
  'partition', // daily partition replace, Parquet in the lake (bronze, silver)
  'table', // full overwrite
  'append', // incremental by unique key: rows with the same key are replaced, never duplicated
  'scd1', // merge by unique key, optional stable surrogate key and per-column merge rules
  'scd2', // history: valid_from, valid_to, is_current, change detection by row hash
  'bridge', // effective-dated entity↔member bridge
  'keyword_match', // the TF-IDF keyword normaliser, cached per keyword
]);
export type Materialization = z.infer<typeof Materialization>;

/**
 * The materializations that read each optional setting of the header. A `table` or `append` model's
 * keys are read too: publishing takes them as the primary key, the star schema as a dimension's key
 * (and its key-0 row as the unknown member).
 */
const SETTING_USERS: Record<string, Materialization[]> = {
  unique_key: ['append', 'scd1', 'scd2', 'table'],
  surrogate_key: ['scd1', 'scd2', 'bridge', 'table', 'append'],
  unknown_member: ['scd1', 'table'],
  merge: ['scd1'],
  deduplicate: ['partition'],
  reconcile_with: ['partition'],
  tracked: ['scd2'],
  bridge: ['bridge'],
  catalog: ['keyword_match'],
};
const SETTING_ADVICE: Record<string, string> = {
  unique_key: '; to check a key is unique, add the test {unique: <column>}',
};

// Strict at every level: a misspelt key (uniqe_key, severty) would otherwise be dropped and its setting
// left at the default without a word.
export const ModelConfig = z
  .strictObject({
    materialized: Materialization,
    description: z.string().optional(),
    unique_key: Columns.optional(),
    /** scd1/scd2/bridge: integer key assigned to new business keys (max + 1), never changed afterwards. */
    surrogate_key: z.string().optional(),
    /** scd1: values of the explicit unknown member (surrogate key 0) that facts point at instead of NULL. */
    unknown_member: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
    /** scd1: how an existing row's column combines with the incoming value (default: overwrite). */
    merge: z.record(z.string(), z.enum(['least', 'greatest', 'overwrite', 'keep'])).default({}),
    /** partition: drop rows repeating this key (first by order_by wins); counted as duplicates removed. */
    deduplicate: z
      .strictObject({
        key: Columns,
        order_by: OrderBy.optional(),
        /**
         * Also drop rows whose key the partition of one of the N latest dates before holds (an event
         * delivered again later), or of every earlier date with 'all'. A window, as a stream's watermark:
         * its cost grows with N, while 'all' reads the key column of the whole layer every date.
         */
        across_dates: z.union([z.number().int().positive(), z.literal('all')]).optional(),
      })
      .optional(),
    /** partition: upstream model whose partition rows must equal rows out + duplicates + quarantined. */
    reconcile_with: z.string().optional(),
    /** scd2: columns whose change opens a new version (default: all but the key). */
    tracked: z.array(z.string()).optional(),
    /** bridge: the entity column, the member column and the date column of the input rows. */
    bridge: z.strictObject({ entity: z.string(), member: z.string() }).optional(),
    /** keyword_match: the relation holding the reference catalog (title, genres, optional slug). */
    catalog: z.string().optional(),
    /** Star-schema role, for the diagram and for publishing. */
    role: z.enum(['fact', 'dimension', 'bridge']).optional(),
    tests: z.array(DataTest).default([]),
  })
  .superRefine((c, ctx) => {
    // A setting the materialization does not read would be dropped without a word: a surrogate_key kept
    // after switching scd1 to append leaves the facts' joins without their key.
    for (const [setting, users] of Object.entries(SETTING_USERS)) {
      const value = c[setting as keyof typeof c];
      const given = setting === 'merge' ? Object.keys(value as object).length > 0 : value !== undefined;
      if (given && !users.includes(c.materialized)) {
        ctx.addIssue({
          code: 'custom',
          path: [setting],
          message:
            `does nothing for materialized: ${c.materialized} (only ${users.join(', ')} ` +
            `${users.length === 1 ? 'reads' : 'read'} it)${SETTING_ADVICE[setting] ?? ''}: remove it, or change materialized`,
        });
      }
    }
    const needsKey = ['append', 'scd1', 'scd2'].includes(c.materialized);
    if (needsKey && !c.unique_key) {
      ctx.addIssue({ code: 'custom', message: `materialized: ${c.materialized} needs unique_key` });
    }
    if (c.materialized === 'bridge' && (!c.bridge || !c.surrogate_key)) {
      ctx.addIssue({
        code: 'custom',
        message: 'materialized: bridge needs bridge: {entity, member} and surrogate_key',
      });
    }
    if (c.materialized === 'keyword_match' && !c.catalog) {
      ctx.addIssue({ code: 'custom', message: 'materialized: keyword_match needs catalog: <relation>' });
    }
    // The unknown member is the row with surrogate key 0: without a surrogate key it has nowhere to go,
    // and scd1 would drop it without a word.
    if (c.unknown_member && !c.surrogate_key) {
      ctx.addIssue({
        code: 'custom',
        path: ['unknown_member'],
        message: 'unknown_member needs surrogate_key: the unknown member is the row whose surrogate key is 0',
      });
    }
    // The test reads valid_from, valid_to and is_current, which only scd2 and bridge tables have: found
    // here, not as a Binder Error when a run gets to it.
    c.tests.forEach((test, i) => {
      if ('scd_invariants' in test && c.materialized !== 'scd2' && c.materialized !== 'bridge') {
        ctx.addIssue({
          code: 'custom',
          path: ['tests', i],
          message:
            `scd_invariants applies to materialized: scd2 and bridge models only (it checks valid_from, ` +
            `valid_to and is_current), not to materialized: ${c.materialized}`,
        });
      }
    });
  });
export type ModelConfig = z.infer<typeof ModelConfig>;

export const LAYERS = ['bronze', 'silver', 'gold'] as const;
export type Layer = (typeof LAYERS)[number];

export interface Model {
  /** `<layer>.<name>`, also how other models refer to it in SQL. */
  id: string;
  layer: Layer;
  name: string;
  file: string;
  config: ModelConfig;
  /** The SELECT body, without the config header. */
  sql: string;
  /** The whole file as parsed: runs record it, so the editor can offer back the version that last ran. */
  text: string;
  /** 1-based line in the file where `sql` starts, to map DuckDB error positions back to the file. */
  sqlStartLine: number;
  /** 1-based line of each key of the config header by dotted path (`merge.first_search_dt`), for errors. */
  configLines: Record<string, number>;
  /** Where each of `config.tests` is written (line in the file, text as written), to name it in errors. */
  testSources: { line: number; text: string }[];
}

/**
 * The id (lower case) of the table a relationships test's `to:` names, as the test's SQL reads it: models
 * run with search_path gold, so a bare name is the gold table, and DuckDB's names ignore letter case.
 * Compare it with `model.id.toLowerCase()`.
 */
export function relationshipTargetId(to: string): string {
  const named = to.toLowerCase();
  return named.includes('.') ? named : `gold.${named}`;
}

// Line comments may come before the header (a title, a licence line); nothing else may.
const HEADER = /^(?:\s*--[^\n]*\n)*\s*\/\*\s*config\b([\s\S]*?)\*\//;
const HEADER_OPENED = /^(?:\s*--[^\n]*\n)*\s*\/\*\s*config\b/;
const HEADER_ANYWHERE = /\/\*\s*config\b/;
const HEADER_EXAMPLE = '/* config\nmaterialized: table\n*/';

/**
 * The file line a model's SQL starts on: the first non-blank line after its config header. Also for a
 * file whose header does not load, which the editor still opens; 1 when no header closes.
 */
export function sqlStartLineOf(text: string): number {
  const match = HEADER.exec(text);
  if (!match) return 1;
  const headerEnd = match.index + match[0].length;
  const body = text.slice(headerEnd);
  return text.slice(0, headerEnd + body.length - body.trimStart().length).split('\n').length;
}

/** Splits a model file into its YAML config header and SQL body, and validates the config. */
export function parseModelFile(file: string, text: string, layer: Layer): Model {
  const name = modelName(file);
  const id = `${layer}.${name}`;
  const match = HEADER.exec(text);
  if (!match) {
    // An opened header without its `*/` is not a missing one: say what to add, and where.
    const misplaced = HEADER_ANYWHERE.exec(text);
    const problem = HEADER_OPENED.test(text)
      ? 'the config header is not closed: end it with */ on its own line before the SQL, like this'
      : misplaced
        ? `the config header must come first in the file, and line ${lineOf(text, misplaced.index)} has it ` +
          'after other text: move it to the top, like this'
        : /^\s*\/\*/.test(text)
          ? 'the comment the file starts with is not a config header: start it with /* config (spelt so), like this'
          : 'missing config header. Start the file with a block like';
    throw new LakehouseError('MODEL_INVALID', `${file}: ${problem}:\n${HEADER_EXAMPLE}`, { file, model: id });
  }
  const yamlText = match[1] ?? '';
  // The file line the YAML starts on (the rest of the `/* config` line), so issues point into the file.
  const headerLine = lineOf(text, match.index + match[0].length - yamlText.length - 2);
  const document = parseDocument(yamlText);
  const yamlError = document.errors[0];
  if (yamlError) {
    const errorLine = yamlError.linePos && headerLine + yamlError.linePos[0].line - 1;
    throw new LakehouseError(
      'MODEL_INVALID',
      `${errorLine ? `${file}:${errorLine}` : file}: config header is not valid YAML: ${yamlError.message}` +
        // Unclosed, the header runs on to the `*/` of a comment in the SQL.
        (/^\s*(select|with|from)\b/im.test(yamlText) ? '\nIs the header closed with */ before the SQL?' : ''),
      { file, line: errorLine, model: id },
    );
  }
  // Nothing (or only comments) in the header read as "expected object, received null".
  if (document.contents === null) {
    throw new LakehouseError(
      'MODEL_INVALID',
      `${file}:${headerLine}: the config header is empty: it needs at least materialized:, like this:\n${HEADER_EXAMPLE}`,
      { file, line: headerLine, model: id },
    );
  }
  const parsed = ModelConfig.safeParse(document.toJS(), { error: configErrorMap });
  if (!parsed.success) {
    const located = locateIssues(parsed.error.issues, document, yamlText, headerLine);
    const issues = issueLines(located);
    const line = located[0]?.line;
    throw new LakehouseError(
      'MODEL_INVALID',
      `${line === undefined ? file : `${file}:${line}`}: invalid config:\n  ${issues.join('\n  ')}`,
      { file, line, issues, model: id },
    );
  }
  const configLines = keyLines(document.contents, yamlText, headerLine);
  // The star schema is gold's: a role elsewhere would draw a bronze or silver table in it and publish
  // nothing for it, so it is refused like a setting the materialization does not read.
  if (parsed.data.role !== undefined && layer !== 'gold') {
    const line = configLines.role ?? headerLine;
    const issue = `line ${line}: role: is for gold models (the star schema and publishing read it), and ${id} is ${layer}: remove it, or move the model to models/gold/`;
    throw new LakehouseError('MODEL_INVALID', `${file}:${line}: invalid config:\n  ${issue}`, {
      file,
      line,
      issues: [issue],
      model: id,
    });
  }
  const sqlStartLine = sqlStartLineOf(text);
  const sql = modelBody(text.slice(match.index + match[0].length));
  if (!sql.trim())
    throw new LakehouseError('MODEL_INVALID', `${file}: the model has no SQL after its config header`, {
      file,
      model: id,
    });
  acceptedValuesAsWritten(parsed.data.tests, document);
  const tests = document.get('tests', true);
  const testSources = (isSeq(tests) ? tests.items : []).map((item, i) => {
    const [start = 0, end = start] = (item as { range?: [number, number] }).range ?? [];
    return {
      line: configLines[`tests.${i}`] ?? headerLine,
      text: yamlText.slice(start, end).replace(/\s+/g, ' ').trim(),
    };
  });
  return { id, layer, name, file, config: parsed.data, sql, text, sqlStartLine, configLines, testSources };
}

/** A number as YAML writes it in decimal notation: `01`, `1.0`, `-2.50`, `1e3`. */
const DECIMAL_NUMBER = /^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * YAML reads `01` and `1.0` as the number 1, so `values: [01, 02]` on a text column of codes failed every
 * `01` while naming it. Such a value is compared as written; DuckDB casts that text for a numeric column.
 */
function acceptedValuesAsWritten(tests: DataTest[], document: Document): void {
  tests.forEach((test, i) => {
    if (!('accepted_values' in test)) return;
    const items = document.getIn(['tests', i, 'accepted_values', 'values'], true);
    if (!isSeq(items)) return;
    test.accepted_values.values = test.accepted_values.values.map((value, j) => {
      const item = items.items[j];
      const written = isScalar(item) && item.type === 'PLAIN' ? item.source : undefined;
      return typeof value === 'number' &&
        written !== undefined &&
        written !== String(value) &&
        DECIMAL_NUMBER.test(written)
        ? written
        : value;
    });
  });
}

/** 1-based line of `offset` in `text`. */
function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

/** The file line of every map key and list item under `node`, by dotted path. */
function keyLines(node: unknown, yamlText: string, firstLine: number, prefix = ''): Record<string, number> {
  const lines: Record<string, number> = {};
  const children: [string, Node | undefined, unknown][] = isMap(node)
    ? node.items.map((pair) => [
        String((pair.key as { value?: unknown })?.value),
        pair.key as Node,
        pair.value,
      ])
    : isSeq(node)
      ? node.items.map((item, i) => [String(i), item as Node, item])
      : [];
  for (const [key, keyNode, value] of children) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (keyNode?.range) lines[path] = firstLine + lineOf(yamlText, keyNode.range[0]) - 1;
    Object.assign(lines, keyLines(value, yamlText, firstLine, path));
  }
  return lines;
}

/** A project's models: those whose file parses, and an error per file that does not. */
export interface LoadedModels {
  models: Model[];
  errors: LakehouseError[];
}

/** A model file's name: any case of `.sql` (`m.SQL` is a model too). */
const MODEL_FILE = /\.sql$/i;

/** The model name a file gives: its file name without `.sql`, whatever folder of its layer it is in. */
function modelName(file: string): string {
  return basename(file).replace(MODEL_FILE, '');
}

/** The model files under `dir`, subfolders included (dbt-style `gold/marts/`), as paths relative to it. */
async function modelFilesUnder(dir: string, under = ''): Promise<string[]> {
  // Walked by hand: readdir's recursive entries name their folder only from Node 20.12 on.
  const files: string[] = [];
  for (const entry of await readdir(join(dir, under), { withFileTypes: true })) {
    const path = join(under, entry.name);
    if (entry.isDirectory()) files.push(...(await modelFilesUnder(dir, path)));
    else if (entry.isFile() && MODEL_FILE.test(entry.name)) files.push(path);
  }
  return files.sort();
}

/**
 * Reads every model file of a project, `*.sql` (any case) in `models/<layer>/` and its subfolders, in a
 * stable order: a subfolder belongs to its layer and a model is named by its file. A file that does not
 * parse, two files giving the same model, and anything under models/ outside a layer folder are errors
 * in the list, not throws: reading the committed tables must not need every model to be valid, and
 * nothing is skipped without a word.
 */
export async function loadModels(projectRoot: string): Promise<LoadedModels> {
  const models: Model[] = [];
  const errors: LakehouseError[] = [];
  const modelsDir = join(projectRoot, 'models');
  const layerList = LAYERS.map((l) => `models/${l}/`).join(', ');
  let files = 0;
  // A folder or model file the engine would not read (models/staging/, models/x.sql): said, not skipped.
  const top = await readdir(modelsDir, { withFileTypes: true }).catch(() => []);
  for (const entry of top) {
    const isLayer = (LAYERS as readonly string[]).includes(entry.name);
    if (entry.name.startsWith('.') || isLayer || !(entry.isDirectory() || MODEL_FILE.test(entry.name)))
      continue;
    const file = relative(projectRoot, join(modelsDir, entry.name));
    errors.push(
      new LakehouseError(
        'PROJECT_INVALID',
        `${file}${entry.isDirectory() ? '/' : ''}: not in a layer folder, so no model is read from it. ` +
          `Models go in ${layerList} (subfolders of a layer folder belong to that layer)` +
          (entry.isDirectory() ? `; move its files into one of them` : `; move it into one of them`),
        { file },
      ),
    );
  }
  /** Model id (lower-case, as DuckDB binds names) → the file that gave it first. */
  const seen = new Map<string, string>();
  for (const layer of LAYERS) {
    const dir = join(modelsDir, layer);
    let entries: string[];
    try {
      entries = await modelFilesUnder(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      files++;
      const path = join(dir, entry);
      const file = relative(projectRoot, path);
      const id = `${layer}.${modelName(entry)}`;
      const first = seen.get(id.toLowerCase());
      if (first !== undefined) {
        errors.push(
          new LakehouseError(
            'MODEL_INVALID',
            `${file}: model ${id} is also given by ${first}; a model's name is its file name in any ` +
              'folder of its layer: rename or remove one of them',
            { file, files: [first, file], model: id },
          ),
        );
        continue;
      }
      seen.set(id.toLowerCase(), file);
      const text = await readFile(path, 'utf8');
      try {
        models.push(parseModelFile(file, text, layer));
      } catch (error) {
        if (!(error instanceof LakehouseError)) throw error;
        // The file still builds its table: whoever reads the errors must not take it for a deleted model.
        error.details.model ??= id;
        error.details.file ??= file;
        errors.push(error);
      }
    }
  }
  if (files === 0) {
    throw new LakehouseError(
      'PROJECT_INVALID',
      `No models found under ${modelsDir}/{bronze,silver,gold}/` +
        errors.map((e) => `\n${e.message}`).join(''),
    );
  }
  return { models, errors };
}

/**
 * A model's SQL as the engine wraps it (`(${sql})`, `CREATE ... AS ${sql}`): without the statement's
 * closing semicolon, and ending with a newline, so that a comment on its last line cannot swallow what
 * the engine writes after it. Quotes and comments are skipped over: a `;` inside them stays.
 */
export function modelBody(text: string): string {
  let lastSemicolon = -1;
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    const pair = text.slice(i, i + 2);
    let next = i + 1;
    if (c === "'" || c === '"') {
      next = after(text, c, i + 1);
      lastSemicolon = -1;
    } else if (pair === '--') next = after(text, '\n', i + 2);
    else if (pair === '/*') next = after(text, '*/', i + 2);
    else if (!/\s/.test(c)) lastSemicolon = c === ';' ? i : -1;
    i = next;
  }
  const body = lastSemicolon === -1 ? text : text.slice(0, lastSemicolon) + text.slice(lastSemicolon + 1);
  return `${body.trim()}\n`;
}

/** The index just past the next `token` from `from`, or the end of `text` when there is none. */
function after(text: string, token: string, from: number): number {
  const at = text.indexOf(token, from);
  return at === -1 ? text.length : at + token.length;
}

import { readdir, readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { isSeq, parseDocument } from 'yaml';
import { z } from 'zod';
import { LakehouseError } from '../api/errors.ts';

const Columns = z
  .union([z.string(), z.array(z.string()).min(1)])
  .transform((v) => (Array.isArray(v) ? v : [v]));
const Severity = z.enum(['error', 'warn']).default('error');

/** Data tests a model declares; they run on the rows a run writes. */
export const DataTest = z.union([
  z.object({ not_null: Columns, severity: Severity }),
  z.object({ unique: Columns, severity: Severity }),
  z.object({
    accepted_values: z.object({ column: z.string(), values: z.array(z.union([z.string(), z.number()])) }),
    severity: Severity,
  }),
  z.object({
    relationships: z.object({ column: z.string(), to: z.string(), field: z.string() }),
    severity: Severity,
  }),
  /** SCD2 / bridge: one current row per key, no overlapping or gapped validity. */
  z.object({ scd_invariants: z.literal(true), severity: Severity }),
]);
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

export const ModelConfig = z
  .object({
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
    deduplicate: z.object({ key: Columns, order_by: z.string().optional() }).optional(),
    /** partition: upstream model whose partition rows must equal rows out + duplicates + quarantined. */
    reconcile_with: z.string().optional(),
    /** scd2: columns whose change opens a new version (default: all but the key). */
    tracked: z.array(z.string()).optional(),
    /** bridge: the entity column, the member column and the date column of the input rows. */
    bridge: z.object({ entity: z.string(), member: z.string() }).optional(),
    /** keyword_match: the relation holding the reference catalog (title, genres, optional slug). */
    catalog: z.string().optional(),
    /** Star-schema role, for the diagram and for publishing. */
    role: z.enum(['fact', 'dimension', 'bridge']).optional(),
    tests: z.array(DataTest).default([]),
  })
  .superRefine((c, ctx) => {
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
  /** 1-based line in the file where `sql` starts, to map DuckDB error positions back to the file. */
  sqlStartLine: number;
  /** Where each of `config.tests` is written (line in the file, text as written), to name it in errors. */
  testSources: { line: number; text: string }[];
}

const HEADER = /^\s*\/\*\s*config\b([\s\S]*?)\*\//;

/** Splits a model file into its YAML config header and SQL body, and validates the config. */
export function parseModelFile(file: string, text: string, layer: Layer): Model {
  const name = basename(file, '.sql');
  const id = `${layer}.${name}`;
  const match = HEADER.exec(text);
  if (!match) {
    throw new LakehouseError(
      'MODEL_INVALID',
      `${file}: missing config header. Start the file with a block like /* config\\nmaterialized: table\\n*/`,
      { file, model: id },
    );
  }
  const yaml = match[1] ?? '';
  const document = parseDocument(yaml);
  const yamlError = document.errors[0];
  if (yamlError) {
    throw new LakehouseError(
      'MODEL_INVALID',
      `${file}: config header is not valid YAML: ${yamlError.message}`,
      {
        file,
        model: id,
      },
    );
  }
  const parsed = ModelConfig.safeParse(document.toJS());
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`);
    throw new LakehouseError('MODEL_INVALID', `${file}: invalid config:\n  ${issues.join('\n  ')}`, {
      file,
      model: id,
      issues,
    });
  }
  const headerEnd = match.index + match[0].length;
  const body = text.slice(headerEnd);
  const leading = body.length - body.trimStart().length;
  const sqlStartLine = text.slice(0, headerEnd + leading).split('\n').length;
  const sql = body.trim().replace(/;\s*$/, '');
  if (!sql)
    throw new LakehouseError('MODEL_INVALID', `${file}: the model has no SQL after its config header`, {
      file,
      model: id,
    });
  // The YAML starts right after "config"; its offsets map to lines of the file.
  const yamlStart = headerEnd - 2 - yaml.length;
  const tests = document.get('tests', true);
  const testSources = (isSeq(tests) ? tests.items : []).map((item) => {
    const [start = 0, end = start] = (item as { range?: [number, number] }).range ?? [];
    return {
      line: text.slice(0, yamlStart + start).split('\n').length,
      text: yaml.slice(start, end).replace(/\s+/g, ' ').trim(),
    };
  });
  return { id, layer, name, file, config: parsed.data, sql, sqlStartLine, testSources };
}

/** A project's models: those whose file parses, and an error per file that does not. */
export interface LoadedModels {
  models: Model[];
  errors: LakehouseError[];
}

/**
 * Reads every `models/<layer>/*.sql` of a project, in a stable order. A file that does not parse is an
 * error in the list, not a throw: reading the committed tables must not need every model to be valid.
 */
export async function loadModels(projectRoot: string): Promise<LoadedModels> {
  const models: Model[] = [];
  const errors: LakehouseError[] = [];
  let files = 0;
  for (const layer of LAYERS) {
    const dir = join(projectRoot, 'models', layer);
    let entries: string[];
    try {
      entries = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
    } catch {
      continue;
    }
    for (const entry of entries) {
      files++;
      const file = join(dir, entry);
      const text = await readFile(file, 'utf8');
      try {
        models.push(parseModelFile(relative(projectRoot, file), text, layer));
      } catch (error) {
        if (!(error instanceof LakehouseError)) throw error;
        errors.push(error);
      }
    }
  }
  if (files === 0) {
    throw new LakehouseError(
      'PROJECT_INVALID',
      `No models found under ${join(projectRoot, 'models')}/{bronze,silver,gold}/`,
    );
  }
  return { models, errors };
}

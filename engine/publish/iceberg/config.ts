import { z } from 'zod';
import { IcebergName } from '../../api/contract.ts';
import { LakehouseError } from '../../api/errors.ts';
import type { Project } from '../../project/config.ts';
import { resolveProjectPath } from '../../project/config.ts';

const S3Block = z
  .object({
    endpoint: z.string().optional(),
    region: z.string().optional(),
    profile: z.string().optional(),
    force_path_style: z.boolean().optional(),
  })
  .strict();

const Common = {
  /** Iceberg namespace (Glue database) the gold tables go into; a folder of the warehouse, so a plain name. */
  namespace: IcebergName.default('gold'),
  /** Table properties added to every created table. */
  properties: z.record(z.string(), z.string()).default({}),
};

/** `catalog: filesystem`: vN.metadata.json + version-hint.text under a folder or an s3:// prefix. */
export const FileSystemCatalogConfig = z
  .object({ type: z.literal('filesystem'), warehouse: z.string().min(1), s3: S3Block.optional(), ...Common })
  .strict();

/** `catalog: glue`: AWS Glue Data Catalog; files under `warehouse` (s3:// or, for tests, a folder). */
export const GlueCatalogConfig = z
  .object({
    type: z.literal('glue'),
    warehouse: z.string().min(1),
    region: z.string().optional(),
    /** A Glue-compatible endpoint (tests); AWS otherwise. */
    endpoint: z.string().optional(),
    profile: z.string().optional(),
    /** The AWS account id owning the catalog, when not the caller's. */
    catalog_id: z.string().optional(),
    s3: S3Block.optional(),
    ...Common,
  })
  .strict();

/** `catalog: rest`: an Iceberg REST catalog; the bearer token comes from an environment variable, never from the file. */
export const RestCatalogConfig = z
  .object({
    type: z.literal('rest'),
    // The URI shows in preflights, progress and errors: a user:password@ in it would be shown too.
    uri: z
      .string()
      .url()
      .refine(
        (uri) => !URL.canParse(uri) || (new URL(uri).username === '' && new URL(uri).password === ''),
        'holds credentials (user:password@); they would show in messages and publish output. Take them out of ' +
          'the URI and name the environment variable holding the token: token_env: LAKEHOUSE_CATALOG_TOKEN',
      ),
    /** Passed to GET /v1/config as `warehouse`; also where files go for a file-based warehouse. */
    warehouse: z.string().optional(),
    token_env: z.string().optional(),
    s3: S3Block.optional(),
    ...Common,
  })
  .strict();

export type FileSystemCatalogConfig = z.infer<typeof FileSystemCatalogConfig>;
export type GlueCatalogConfig = z.infer<typeof GlueCatalogConfig>;
export type RestCatalogConfig = z.infer<typeof RestCatalogConfig>;

export const IcebergCatalogConfig = z.discriminatedUnion('type', [
  FileSystemCatalogConfig,
  GlueCatalogConfig,
  RestCatalogConfig,
]);
export type IcebergCatalogConfig = z.infer<typeof IcebergCatalogConfig>;

/** Validates the named `publish.iceberg.<name>` entry of lakehouse.yaml, resolving relative folders. */
export function icebergCatalogConfig(project: Project, name: string): IcebergCatalogConfig {
  const entries = project.config.publish.iceberg;
  const raw = entries[name];
  if (raw === undefined) {
    const known = Object.keys(entries);
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `No Iceberg catalog named ${name} in ${project.root}/lakehouse.yaml (publish.iceberg). ${known.length ? `Known: ${known.join(', ')}.` : 'Add one, or publish to a warehouse folder or s3:// prefix (--warehouse, or the app\'s "Warehouse folder" target).'}`,
      { catalog: name, known },
    );
  }
  const parsed = IcebergCatalogConfig.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (i) => `publish.iceberg.${name}.${i.path.join('.')}: ${i.message}`,
    );
    throw new LakehouseError(
      'PROJECT_INVALID',
      `${project.root}/lakehouse.yaml is invalid:\n  ${issues.join('\n  ')}`,
      {
        catalog: name,
        issues,
      },
    );
  }
  const config = parsed.data;
  if (config.warehouse)
    config.warehouse = resolveProjectPath(project.root, config.warehouse, { fileUri: true });
  return config;
}

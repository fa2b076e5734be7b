import { z } from 'zod';
import { TargetSchemaName } from '../../api/contract.ts';
import { LakehouseError } from '../../api/errors.ts';

// `publish: { redshift: { <name>: {...} } }` in lakehouse.yaml. Project files hold no secrets: a password
// comes from the environment variable a target names, or from IAM (GetClusterCredentials, Data API).

const S3Uri = z.string().regex(/^s3:\/\/[^/]+(\/.*)?$/, 'expected s3://bucket/prefix/');

/** Where the Redshift fast path stages Parquet, and the role Redshift's COPY reads it with. */
export const S3Staging = z.strictObject({
  s3: S3Uri,
  iam_role: z.string().regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'expected an IAM role ARN'),
  /** The bucket's region, when it differs from the cluster's (COPY ... REGION). */
  region: z.string().optional(),
});
export type S3Staging = z.infer<typeof S3Staging>;

/**
 * A profile of the shared AWS files (~/.aws/config, ~/.aws/credentials) whose keys and region the target's
 * AWS calls use; without it, AWS_PROFILE or the default profile. A name, as `aws --profile` takes it.
 */
const AwsProfileName = z
  .string()
  .regex(
    /^[^\s[\]"']+$/,
    'expected the name of a profile of the shared AWS files (as in [profile analytics] of ~/.aws/config: ' +
      'profile: analytics), with no spaces, brackets or quotes',
  );

const Common = {
  /** Target schema for the gold tables. */
  schema: TargetSchemaName.default('gold'),
  database: z.string().min(1),
  staging: S3Staging.optional(),
};

/** A provisioned cluster over the PostgreSQL wire protocol (pg); loads COPY from S3 when staging is set. */
export const ProvisionedTarget = z
  .strictObject({
    kind: z.literal('provisioned'),
    host: z.string().min(1),
    port: z.number().int().positive().default(5439),
    user: z.string().min(1),
    /** Name of the environment variable holding the password. */
    password_env: z.string().min(1).optional(),
    /** Temporary credentials from GetClusterCredentials instead of a password. */
    iam: z.boolean().default(false),
    cluster_identifier: z.string().optional(),
    /** The cluster's region; with `profile`, the profile's region when not given. */
    region: z.string().optional(),
    profile: AwsProfileName.optional(),
    ssl: z.boolean().default(true),
    ...Common,
  })
  .refine((t) => t.iam || t.password_env, {
    message: 'give password_env (the variable holding the password) or iam: true',
  })
  .refine((t) => !t.iam || (t.cluster_identifier && (t.region || t.profile)), {
    message: 'iam: true needs cluster_identifier and region (or a profile whose region is set)',
  });

/** Redshift Serverless (or a cluster) through the Data API: no network path to the database needed. */
export const ServerlessTarget = z
  .strictObject({
    kind: z.literal('serverless'),
    workgroup: z.string().min(1).optional(),
    cluster_identifier: z.string().min(1).optional(),
    /** Data API credentials for a cluster: a database user (temporary credentials) or a Secrets Manager ARN. */
    db_user: z.string().optional(),
    secret_arn: z.string().optional(),
    /** The workgroup's or cluster's region; with `profile`, the profile's region when not given. */
    region: z.string().min(1).optional(),
    profile: AwsProfileName.optional(),
    ...Common,
  })
  .refine((t) => t.region || t.profile, {
    message: 'give region (or a profile whose region is set)',
    path: ['region'],
  })
  .refine((t) => Boolean(t.workgroup) !== Boolean(t.cluster_identifier), {
    message: 'give exactly one of workgroup (Serverless) or cluster_identifier',
  })
  .refine((t) => t.staging, { message: 'the Data API loads through S3: give staging: {s3, iam_role}' });

/** Any PostgreSQL-protocol server without S3 (PostgreSQL itself): loads stream with COPY FROM STDIN. */
export const PostgresTarget = z.strictObject({
  kind: z.literal('postgres'),
  host: z.string().min(1),
  port: z.number().int().positive().default(5432),
  user: z.string().min(1),
  password_env: z.string().min(1).optional(),
  ssl: z.boolean().default(false),
  schema: TargetSchemaName.default('gold'),
  database: z.string().min(1),
});

export const RedshiftTargetConfig = z.union([ProvisionedTarget, ServerlessTarget, PostgresTarget]);
export type RedshiftTargetConfig = z.infer<typeof RedshiftTargetConfig>;

/** The entry `name` of `publish.redshift`, validated; errors name the target and field. */
export function redshiftTarget(targets: Record<string, unknown>, name: string): RedshiftTargetConfig {
  const raw = targets[name];
  if (raw === undefined) {
    const names = Object.keys(targets);
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `No Redshift target "${name}" in lakehouse.yaml (publish.redshift). ${names.length > 0 ? `Targets: ${names.join(', ')}.` : 'Add one, or publish to a postgres:// URL (--url, or the URL field of the app).'}`,
      { target: name, targets: names },
    );
  }
  const kind = (raw as { kind?: unknown } | null)?.kind;
  const schema =
    kind === 'serverless'
      ? ServerlessTarget
      : kind === 'postgres'
        ? PostgresTarget
        : kind === 'provisioned'
          ? ProvisionedTarget
          : null;
  if (!schema) {
    throw new LakehouseError(
      'PROJECT_INVALID',
      `lakehouse.yaml publish.redshift.${name}.kind: expected provisioned, serverless or postgres.`,
      { target: name },
    );
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (i) => `publish.redshift.${name}.${i.path.join('.') || kind}: ${i.message}`,
    );
    throw new LakehouseError('PROJECT_INVALID', `lakehouse.yaml is invalid:\n  ${issues.join('\n  ')}`, {
      target: name,
      issues,
    });
  }
  return parsed.data;
}

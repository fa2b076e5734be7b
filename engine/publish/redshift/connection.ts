import { GetClusterCredentialsCommand, RedshiftClient } from '@aws-sdk/client-redshift';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import { TargetSchemaName } from '../../api/contract.ts';
import { LakehouseError } from '../../api/errors.ts';
import type { Project } from '../../project/config.ts';
import { createS3Client } from '../../storage/s3-client.ts';
import { type RedshiftTargetConfig, redshiftTarget, type S3Staging } from './config.ts';
import type { RedshiftConnection, S3StagingTarget } from './publish.ts';

// Turns a named target of lakehouse.yaml, or a --url, into a connection. Secrets come from the
// environment (the variable a target names, PGPASSWORD) or from AWS credentials, never from the project.

export interface ResolvedTarget {
  connection: RedshiftConnection;
  schema: string;
}

export interface ResolveOptions {
  /** A target name under publish.redshift. */
  target?: string;
  /** postgres://user@host:port/db: a direct connection with no configuration (password: PGPASSWORD). */
  url?: string;
  /** Overrides the target's schema (default gold). */
  schema?: string;
  env?: NodeJS.ProcessEnv;
}

export async function resolveRedshiftTarget(
  project: Project,
  options: ResolveOptions,
): Promise<ResolvedTarget> {
  const env = options.env ?? process.env;
  if (options.schema !== undefined) checkSchema(options.schema);
  if (options.url) {
    if (!/^postgres(ql)?:\/\//.test(options.url)) {
      throw new LakehouseError(
        'INVALID_ARGUMENT',
        `--url ${options.url}: expected postgres://user@host:port/database (the password comes from PGPASSWORD).`,
      );
    }
    return {
      connection: {
        kind: 'pg',
        // An empty PGPASSWORD is no password, not an empty one.
        config: { connectionString: options.url, password: env.PGPASSWORD || undefined },
        dialect: 'postgres',
      },
      schema: options.schema ?? 'gold',
    };
  }
  if (!options.target) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      'Name a target (--target <name> from lakehouse.yaml) or give --url postgres://...',
    );
  }
  const config = redshiftTarget(project.config.publish.redshift, options.target);
  return { connection: await connect(options.target, config, env), schema: options.schema ?? config.schema };
}

/** --schema (the API checks its input itself; the CLI passes the flag as typed). */
function checkSchema(schema: string): void {
  const parsed = TargetSchemaName.safeParse(schema);
  if (!parsed.success) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `schema "${schema}": ${parsed.error.issues[0]?.message ?? 'not a schema name'}.`,
      { field: 'schema', schema },
    );
  }
}

function password(name: string, variable: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (!variable) return undefined;
  const value = env[variable];
  if (value === undefined) {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `Target ${name} reads its password from the environment variable ${variable}, which is not set. Set it and retry.`,
      { target: name, variable },
    );
  }
  return value;
}

function staging(config: S3Staging | undefined, region: string | undefined): S3StagingTarget | undefined {
  if (!config) return undefined;
  return {
    client: createS3Client({ region: config.region ?? region }),
    uri: config.s3,
    iamRole: config.iam_role,
    region: config.region,
  };
}

async function connect(
  name: string,
  config: RedshiftTargetConfig,
  env: NodeJS.ProcessEnv,
): Promise<RedshiftConnection> {
  switch (config.kind) {
    case 'postgres':
      return {
        kind: 'pg',
        dialect: 'postgres',
        config: {
          host: config.host,
          port: config.port,
          user: config.user,
          database: config.database,
          password: password(name, config.password_env, env),
          ssl: config.ssl,
        },
      };
    case 'provisioned': {
      let user = config.user;
      let secret = password(name, config.password_env, env);
      if (config.iam) {
        // Temporary credentials for the configured user, valid for 15 minutes.
        try {
          const credentials = await new RedshiftClient({ region: config.region }).send(
            new GetClusterCredentialsCommand({
              ClusterIdentifier: config.cluster_identifier,
              DbUser: config.user,
              DbName: config.database,
              DurationSeconds: 900,
              AutoCreate: false,
            }),
          );
          user = credentials.DbUser ?? user;
          secret = credentials.DbPassword;
        } catch (error) {
          throw new LakehouseError(
            'PUBLISH_FAILED',
            `GetClusterCredentials for ${config.user} on cluster ${config.cluster_identifier} failed: ${(error as Error).message}. Check your AWS credentials and the redshift:GetClusterCredentials permission.`,
            { target: name },
          );
        }
      }
      return {
        kind: 'pg',
        dialect: 'redshift',
        config: {
          host: config.host,
          port: config.port,
          user,
          database: config.database,
          password: secret,
          ssl: config.ssl,
        },
        staging: staging(config.staging, config.region),
      };
    }
    case 'serverless': {
      const stage = staging(config.staging, config.region);
      if (!stage)
        throw new LakehouseError(
          'PROJECT_INVALID',
          `Target ${name}: the Data API loads through S3; give staging.`,
        );
      return {
        kind: 'data-api',
        client: new RedshiftDataClient({ region: config.region }),
        target: {
          workgroupName: config.workgroup,
          clusterIdentifier: config.cluster_identifier,
          database: config.database,
          dbUser: config.db_user,
          secretArn: config.secret_arn,
        },
        staging: stage,
      };
    }
  }
}

import { BlockList, isIP } from 'node:net';
import { GetClusterCredentialsCommand, RedshiftClient } from '@aws-sdk/client-redshift';
import { RedshiftDataClient } from '@aws-sdk/client-redshift-data';
import pg from 'pg';
import { TargetSchemaName } from '../../api/contract.ts';
import { LakehouseError } from '../../api/errors.ts';
import type { Project } from '../../project/config.ts';
import { awsCredentialsFor } from '../../storage/aws-chain.ts';
import { awsProfileRegion, missingAwsProfile } from '../../storage/aws-profiles.ts';
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
  /**
   * Which hosts a `url` may be sent the environment's password to. `any-host`: the CLI's --url, typed by
   * the user in their own shell. `loopback-only` (the default): a URL from the API, which a script in the
   * app window or a holder of the session token chooses, so PGPASSWORD (which node-postgres also reads
   * by itself, with ~/.pgpass) must not reach a host of theirs.
   */
  passwordFromEnvFor?: 'any-host' | 'loopback-only';
  env?: NodeJS.ProcessEnv;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether `host` is this computer's loopback: localhost, 127.0.0.0/8 or ::1 (IPv4-mapped included). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (bare.toLowerCase() === 'localhost') return true;
  const family = isIP(bare);
  return family !== 0 && LOOPBACK.check(bare, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The host node-postgres will connect to for `url`: its own parse, so a `?host=` parameter or a PGHOST
 * fallback counts, not just the URL's authority.
 */
function pgHost(url: string): string {
  return new pg.Client({ connectionString: url }).host;
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
        // Not echoed: a URL typed with another scheme may still carry user:password@.
        '--url: expected postgres://user@host:port/database (the password comes from PGPASSWORD or ~/.pgpass).',
      );
    }
    if ((options.passwordFromEnvFor ?? 'loopback-only') === 'loopback-only') {
      const host = pgHost(options.url);
      if (!isLoopbackHost(host)) {
        throw new LakehouseError(
          'INVALID_ARGUMENT',
          `url: the app connects by URL only to a database on this computer (localhost, 127.0.0.1, ::1), not ${host}, ` +
            'so PGPASSWORD is never sent to a host a page or script chose. For another server, add a named target ' +
            'under publish.redshift in lakehouse.yaml with password_env (docs/redshift.md) and publish to that target, ' +
            'or run `lakehouse publish redshift --url ...` in your shell.',
          { field: 'url', host },
        );
      }
    }
    return {
      connection: {
        kind: 'pg',
        // An empty PGPASSWORD is no password, not an empty one.
        config: { connectionString: options.url, password: env.PGPASSWORD || undefined },
        passwordSource: 'PGPASSWORD or ~/.pgpass',
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

/** Names the variable a target's password came from, so a refused login says which one to fix. */
function passwordSource(name: string, variable: string | undefined): { passwordSource?: string } {
  return variable ? { passwordSource: `${variable}, the password_env of target ${name}` } : {};
}

function password(name: string, variable: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (!variable) return undefined;
  const value = env[variable];
  // Empty is as good as unset (`export X=$SECRET` with SECRET unset): the server's refusal would
  // not name the variable.
  if (value === undefined || value === '') {
    throw new LakehouseError(
      'INVALID_ARGUMENT',
      `Target ${name} reads its password from the environment variable ${variable}, which is ${value === undefined ? 'not set' : 'empty'}. Set it to the password where the publish runs (for the app, in the shell that starts it, then start it again) and retry.`,
      { target: name, variable },
    );
  }
  return value;
}

function staging(
  config: S3Staging | undefined,
  aws: { region?: string; profile?: string },
): S3StagingTarget | undefined {
  if (!config) return undefined;
  return {
    // The target's profile: the staging bucket is in the account the target's keys reach.
    client: createS3Client({ region: config.region ?? aws.region, profile: aws.profile }),
    uri: config.s3,
    iamRole: config.iam_role,
    region: config.region,
  };
}

/**
 * The region and credentials of a target's AWS calls: its `profile` (else AWS_PROFILE or the default
 * profile), with the shared files read as they are now, since the SDK's own provider reuses the process's
 * first read of them and a publish from an app left open signed with keys rotated out since. A profile
 * missing from the files, or no region anywhere, is refused naming the target's setting.
 */
function awsAccess(
  name: string,
  config: { profile?: string; region?: string },
  needsRegion: boolean,
): { region?: string; profile?: string; credentials: ReturnType<typeof awsCredentialsFor>['provider'] } {
  const { profile } = config;
  if (profile) {
    const missing = missingAwsProfile(profile, `publish.redshift.${name}.profile`);
    if (missing) throw missing;
  }
  const region = config.region ?? (profile ? awsProfileRegion(profile) : undefined);
  if (needsRegion && !region) {
    throw new LakehouseError(
      'PROJECT_INVALID',
      `Target ${name} has no AWS region: it sets no region and its profile "${profile}" has no region = ... in ` +
        `the shared AWS files. Add region: (e.g. eu-west-1) to publish.redshift.${name} in lakehouse.yaml, or ` +
        `region = ... to the profile (aws configure --profile ${profile}).`,
      { target: name, profile },
    );
  }
  return {
    ...(region ? { region } : {}),
    ...(profile ? { profile } : {}),
    credentials: awsCredentialsFor(profile).provider,
  };
}

/** Which profile a target's AWS calls used, for an error to name. */
function profileInUse(profile: string | undefined): string {
  return profile ? `profile "${profile}" (the target's profile)` : 'AWS_PROFILE, else the default profile';
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
        ...passwordSource(name, config.password_env),
      };
    case 'provisioned': {
      let user = config.user;
      let secret = password(name, config.password_env, env);
      const aws = awsAccess(name, config, config.iam);
      if (config.iam) {
        // Temporary credentials for the configured user, valid for 15 minutes.
        try {
          const credentials = await new RedshiftClient(aws).send(
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
            `GetClusterCredentials for ${config.user} on cluster ${config.cluster_identifier} failed: ${(error as Error).message}. Check the AWS credentials of ${profileInUse(config.profile)} and the redshift:GetClusterCredentials permission.`,
            { target: name, profile: config.profile ?? null },
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
        ...(config.iam ? {} : passwordSource(name, config.password_env)),
        staging: staging(config.staging, aws),
      };
    }
    case 'serverless': {
      const aws = awsAccess(name, config, true);
      const stage = staging(config.staging, aws);
      if (!stage)
        throw new LakehouseError(
          'PROJECT_INVALID',
          `Target ${name}: the Data API loads through S3; give staging.`,
        );
      return {
        kind: 'data-api',
        client: new RedshiftDataClient(aws),
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

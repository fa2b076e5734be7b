import { createServer } from 'node:http';
import { serveOnLoopback } from '../../helpers/loopback.ts';

// A loopback server answering Redshift's GetClusterCredentials in the AWS query protocol, as AWS documents
// it: a form-encoded POST / with Action=GetClusterCredentials, an XML answer. It records who signed each
// request for which region, so a test sees which profile's keys and region a publish used.

export interface ClusterCredentialsRequest {
  /** The form fields sent: ClusterIdentifier, DbUser, DbName, ... */
  params: Record<string, string>;
  accessKeyId: string;
  region: string;
}

export interface ClusterCredentialsServer {
  endpoint: string;
  requests: ClusterCredentialsRequest[];
  close(): Promise<void>;
}

/** Answers every GetClusterCredentials with the user `IAM:<DbUser>` and `password`. */
export async function startClusterCredentialsServer(password: string): Promise<ClusterCredentialsServer> {
  const requests: ClusterCredentialsRequest[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const params = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    // Credential=<key>/<date>/<region>/redshift/aws4_request
    const scope = /Credential=([^/]+)\/[^/]+\/([^/]+)\//.exec(String(req.headers.authorization));
    requests.push({ params, accessKeyId: scope?.[1] ?? '', region: scope?.[2] ?? '' });
    if (params.Action !== 'GetClusterCredentials' || !scope) {
      res.writeHead(400, { 'content-type': 'text/xml' });
      res.end(
        '<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>' +
          `<Message>not GetClusterCredentials, or not signed</Message></Error><RequestId>1</RequestId></ErrorResponse>`,
      );
      return;
    }
    const expiration = new Date(Date.now() + 900_000).toISOString();
    res.writeHead(200, { 'content-type': 'text/xml' });
    res.end(
      '<GetClusterCredentialsResponse xmlns="http://redshift.amazonaws.com/doc/2012-12-01/">' +
        `<GetClusterCredentialsResult><DbUser>IAM:${params.DbUser ?? ''}</DbUser><DbPassword>${password}</DbPassword>` +
        `<Expiration>${expiration}</Expiration></GetClusterCredentialsResult>` +
        '<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetClusterCredentialsResponse>',
    );
  });
  return { ...(await serveOnLoopback(server)), requests };
}

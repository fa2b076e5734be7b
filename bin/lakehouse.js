#!/usr/bin/env node
// Entry point of the `lakehouse` command: loads the TypeScript CLI through tsx, so no build step is needed.
import { register } from 'tsx/esm/api';

// The AWS SDK prints nine lines on every S3 command run on Node 20 about SDK releases after January 2027
// needing Node 22; package-lock.json pins the SDK, so it says nothing about this tool. Set it to false
// to see it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
await import('../cli/main.ts');

#!/usr/bin/env node
// Entry point of the `lakehouse` command: loads the TypeScript CLI through tsx, so no build step is needed.

// `run` and `demo` cancel on SIGINT and SIGTERM (cli/stop-signals.ts), but loading the CLI and opening
// the warehouse take about half a second first: a stop in that time is kept for them instead of killing
// the process, and the run starts cancelled (run --json prints its object). A second stop exits at
// once. Installed before the imports, which are that half second.
if (['run', 'demo'].includes(process.argv[2])) {
  const earlyStop = Symbol.for('lakehouse.earlyStop');
  const keepStop = (signal) => {
    if (globalThis[earlyStop]) process.exit(signal === 'SIGINT' ? 130 : 143);
    globalThis[earlyStop] = signal;
  };
  globalThis[Symbol.for('lakehouse.earlyStopListener')] = keepStop;
  process.on('SIGINT', keepStop);
  process.on('SIGTERM', keepStop);
}

// The AWS SDK prints nine lines on every S3 command run on Node 20 about SDK releases after January 2027
// needing Node 22; package-lock.json pins the SDK, so it says nothing about this tool. Set it to false
// to see it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// The bundled CLI (bin/cli-bundle.js) starts about a third faster than its TypeScript through tsx, which is
// the fallback where it cannot be built, and what LAKEHOUSE_CLI_SOURCE=1 asks for.
const { cliBundle } = await import('./cli-bundle.js');
const bundle = process.env.LAKEHOUSE_CLI_SOURCE ? undefined : await cliBundle();
if (bundle) {
  // LAKEHOUSE_DEBUG prints stacks: name the TypeScript lines, not the bundle's.
  if (process.env.LAKEHOUSE_DEBUG) process.setSourceMapsEnabled(true);
  await import(bundle);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
}

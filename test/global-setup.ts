import { cliBundle } from '../bin/cli-bundle.js';
import { buildRendererIfOutdated, hasChromium } from './helpers/browser.ts';

// Builds the renderer and the bundled command line once, before any test file starts: two browser test
// files finding the renderer missing or outdated at the same time would each empty dist/renderer while the
// other serves it, and test files starting the CLI side by side would each bundle it.
export default async function setup(): Promise<void> {
  if (hasChromium) buildRendererIfOutdated();
  await cliBundle();
}

import { buildRendererIfOutdated, hasChromium } from './helpers/browser.ts';

// Builds the renderer once, before any test file starts: two browser test files finding it missing or
// outdated at the same time would each empty dist/renderer while the other serves it.
export default function setup(): void {
  if (hasChromium) buildRendererIfOutdated();
}

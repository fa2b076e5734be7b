import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../helpers/project.ts';

// The themes' colour variables read from the stylesheet itself, so a colour changed there is checked here:
// WCAG AA asks 4.5:1 for text, whichever theme is on.
const STYLES = readFileSync(join(PROJECT_ROOT, 'renderer', 'src', 'styles.css'), 'utf8');

/** The `--name: #rrggbb` variables of the first block that opens with `selector {`. */
function variablesOf(selector: string): Record<string, string> {
  const start = STYLES.indexOf(`${selector} {`);
  const block = STYLES.slice(start, STYLES.indexOf('\n}', start));
  return Object.fromEntries([...block.matchAll(/(--[\w-]+):\s*(#[0-9a-f]{6})\b/gi)].map((m) => [m[1], m[2]]));
}

const LIGHT = variablesOf(':root');
// The dark theme redefines some variables; the others keep their light value.
const DARK = { ...LIGHT, ...variablesOf(':root[data-theme="dark"]') };

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((at) => {
    const c = Number.parseInt(hex.slice(at, at + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)];
  return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05);
}

/** Text colour and the background it is drawn on, as the stylesheets pair them. */
const TEXT_ON_BACKGROUND: [string, string, string][] = [
  ['--muted', '--bg', 'notes beside a view'],
  ['--muted', '--panel', 'notes in a panel'],
  ['--muted', '--header-bg', 'column types in the grid header'],
  ['--muted', '--selected', 'row counts of the selected table'],
  ['--on-accent', '--accent', 'primary buttons'],
  ['--accent-text', '--selected', 'the chosen publish target'],
  ['--badge-text', '--bronze', 'bronze badges'],
  ['--badge-text', '--silver', 'silver badges'],
  ['--badge-text', '--gold', 'gold badges'],
  ['--badge-text', '--bad', 'quarantine badges'],
  ['--text', '--panel', 'text'],
  ['--bad', '--bad-bg', 'errors'],
  ['--ok', '--ok-bg', 'passed checks'],
  ['--run', '--run-bg', 'running models'],
];

describe('the themes’ text contrast', () => {
  for (const [name, theme] of [
    ['light', LIGHT],
    ['dark', DARK],
  ] as const) {
    it.each(TEXT_ON_BACKGROUND)(`${name}: %s on %s (%s) reads at 4.5:1 or more`, (text, background) => {
      expect(theme[text], text).toMatch(/^#/);
      expect(theme[background], background).toMatch(/^#/);
      expect(contrast(theme[text]!, theme[background]!)).toBeGreaterThanOrEqual(4.5);
    });
  }
});

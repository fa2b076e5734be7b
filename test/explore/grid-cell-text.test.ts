import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { DataGrid } from '../../renderer/src/components/DataGrid.tsx';

// A cell holds one line (white-space: nowrap), which showed a line break as a space: 'a\nb' read as
// 'a b'. Breaks and tabs show as dim markers; the cell's title keeps the value as it is. Rendered to
// markup, no browser needed.

/** Each body cell of a one-column grid of these texts: its markup inside the td, and its title. */
function cells(texts: string[]): { inner: string; title: string | null }[] {
  const html = renderToStaticMarkup(
    createElement(DataGrid, {
      columns: [{ name: 'keyword', type: 'VARCHAR' }],
      rows: texts.map((keyword) => ({ keyword })),
    }),
  );
  return [...html.matchAll(/<td ([^>]*)>(.*?)<\/td>/gs)].map((m) => ({
    title: /title="([^"]*)"/.exec(m[1] as string)?.[1] ?? null,
    inner: m[2] as string,
  }));
}

const marker = (symbol: string) =>
  `<span class="vgrid-control" data-testid="grid-control-character">${symbol}</span>`;

describe('a cell whose text holds line breaks or tabs', () => {
  it('marks each break and tab, so a\\nb does not read as a b', () => {
    const [broken, spaced, tabbed, windows] = cells(['a\nb', 'a b', 'x\ty', 'one\r\ntwo\n']);
    expect(broken).toEqual({ inner: `a${marker('↵')}b`, title: 'a\nb' });
    expect(spaced).toEqual({ inner: 'a b', title: 'a b' });
    expect(tabbed).toEqual({ inner: `x${marker('→')}y`, title: 'x\ty' });
    // \r\n is one break.
    expect(windows?.inner).toBe(`one${marker('↵')}two${marker('↵')}`);
  });
});

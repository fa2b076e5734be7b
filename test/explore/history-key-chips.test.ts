import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { HistoryKeys } from '../../engine/api/contract.ts';
import { KeyChips } from '../../renderer/src/views/HistoryView.tsx';

// The keys the History view offers above its key box, with the label saying what their counts show.

function chipsLabel(suggestions: HistoryKeys, kind: string): string {
  const markup = renderToStaticMarkup(
    createElement(KeyChips, { model: 'gold.dim_user_history', suggestions, kind, onPick: () => {} }),
  );
  return /data-testid="key-chips-label">([^<]*)</.exec(markup)?.[1] ?? '';
}

const keys = (...counts: number[]) => counts.map((count, i) => ({ key: `000${i}`, count }));

describe("the History view's key chips", () => {
  it('name the keys with the most versions when some key has changed', () => {
    const label = chipsLabel({ keyColumns: ['user_id'], unit: 'versions', keys: keys(3, 1, 1) }, 'scd2');
    expect(label).toBe('most versions:');
  });

  it('say no key has changed when each has one version, as on the three days of the real sample', () => {
    for (const kind of ['scd2', 'bridge']) {
      const label = chipsLabel({ keyColumns: ['user_id'], unit: 'versions', keys: keys(1, 1, 1) }, kind);
      expect(label).toBe('no key has changed yet (one version each), e.g.:');
    }
  });

  it('name the keys with the most changes of an SCD1 table, one change being one', () => {
    const label = chipsLabel({ keyColumns: ['user_id'], unit: 'changes', keys: keys(1) }, 'scd1');
    expect(label).toBe('most changes:');
  });
});

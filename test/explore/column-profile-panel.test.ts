import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { ColumnProfile } from '../../engine/api/contract.ts';
import { ColumnProfilePanel } from '../../renderer/src/components/ColumnProfilePanel.tsx';

// The profile panel's min and max read as the grid's cells do; rendered to markup, no browser needed.
function profileOf(type: string, min: string, max: string): ColumnProfile {
  return {
    table: 'gold.fact_customer_search',
    column: 'datetime_log',
    type,
    rows: 2,
    nulls: 0,
    nullPercent: 0,
    distinct: 2,
    distinctApprox: false,
    min,
    max,
    histogram: null,
    topValues: null,
    durationMs: 1,
  };
}

/** The text of the panel's element with this test id. */
function shown(profile: ColumnProfile, testId: string): string | undefined {
  const html = renderToStaticMarkup(
    createElement(ColumnProfilePanel, {
      profile,
      loading: false,
      error: null,
      column: profile.column,
      onClose: () => undefined,
    }),
  );
  return new RegExp(`data-testid="${testId}">([^<]*)<`).exec(html)?.[1];
}

describe('the column profile panel', () => {
  it("shows a timestamp column's min and max with milliseconds, trailing zeros included, as the grid does", () => {
    // DuckDB's text of these: a fraction cut to two digits, and none at all.
    const profile = profileOf('TIMESTAMP', '2022-06-01 00:03:16.83', '2022-06-02 23:59:00');
    expect(shown(profile, 'profile-min')).toBe('2022-06-01 00:03:16.830');
    expect(shown(profile, 'profile-max')).toBe('2022-06-02 23:59:00.000');
  });

  it('shows other types as the engine wrote them', () => {
    const profile = profileOf('INTEGER', '7', '120');
    expect(shown(profile, 'profile-min')).toBe('7');
    expect(shown(profile, 'profile-max')).toBe('120');
  });
});

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

/** The panel's markup for this profile. */
function markup(profile: ColumnProfile, elapsedMs?: number): string {
  return renderToStaticMarkup(
    createElement(ColumnProfilePanel, {
      profile,
      elapsedMs,
      loading: false,
      error: null,
      column: profile.column,
      onClose: () => undefined,
    }),
  );
}

/** The text of the panel's element with this test id. */
function shown(profile: ColumnProfile, testId: string): string | undefined {
  return new RegExp(`data-testid="${testId}">([^<]*)<`).exec(markup(profile))?.[1];
}

describe('the column profile panel', () => {
  it('shows the time the user waited, and how much of it was computing when it queued behind other reads', () => {
    const profile = { ...profileOf('INTEGER', '1', '2'), durationMs: 8500 };
    expect(shown(profile, 'profile-time')).toBe('computed in 8,500 ms');
    const waited = (elapsedMs: number) =>
      /data-testid="profile-time">([^<]*)</.exec(markup(profile, elapsedMs))?.[1];
    expect(waited(21_000)).toBe(
      'took 21,000 ms: 8,500 ms computing, 12,500 ms waiting for the table&#x27;s earlier reads',
    );
    // A round trip's few milliseconds add no second figure.
    expect(waited(8530)).toBe('took 8,530 ms');
  });

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

  it("names a histogram's outlier bins and their range, apart from the equal-width bins", () => {
    const profile = {
      ...profileOf('DOUBLE', '-500000', '2500000'),
      histogram: [
        { low: '-500000', high: '-7000', count: 2, overflow: 'below' as const },
        { low: '0', high: '1000', count: 1001 },
        { low: '90000', high: '2500000', count: 3, overflow: 'above' as const },
      ],
    };
    const bars = [
      ...markup(profile).matchAll(/<li class="([^"]*)"(?: data-overflow="(\w+)")? title="([^"]*)"/g),
    ];
    expect(bars.map(([, className, overflow, title]) => [className, overflow, title])).toEqual([
      ['profile-bar overflow', 'below', 'Below the range: -500000 – -7000: 2'],
      ['profile-bar', undefined, '0 – 1000: 1,001'],
      ['profile-bar overflow', 'above', 'Above the range: 90000 – 2500000: 3'],
    ]);
  });

  it('gives each top value whole to the keyboard and a screen reader, however long', () => {
    const long = `Phim truyền hình Việt Nam dài tập về những người đi tìm kiếm hạnh phúc — phim 2`;
    const profile = { ...profileOf('VARCHAR', 'a', 'z'), topValues: [{ value: long, count: 1234 }] };
    const html = markup(profile);
    expect(html).toContain('<ul class="profile-bars" data-testid="profile-bars" aria-label="Top values">');
    const [bar] = [...html.matchAll(/<li [^>]*>/g)].map(([tag]) => tag);
    expect(bar).toContain('tabindex="0"');
    expect(bar).toContain(`aria-label="${long}: 1,234"`);
    expect(html).toContain(`<span class="profile-bar-label">${long}</span>`);
  });
});

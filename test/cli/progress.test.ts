import { describe, expect, it } from 'vitest';
import { byteUnits, createProgressBar } from '../../cli/progress.ts';

/** A stream that is not a terminal (a CI log, a pipe), collecting what is written. */
function logStream(): { stream: NodeJS.WriteStream; lines: () => string[] } {
  let text = '';
  const write = (chunk: string) => {
    text += chunk;
    return true;
  };
  const stream = { isTTY: false, write };
  return { stream: stream as unknown as NodeJS.WriteStream, lines: () => text.split('\n').filter(Boolean) };
}

describe('the progress bar', () => {
  it('prints each finished step once in a log, however often it is reported', () => {
    const { stream, lines } = logStream();
    const bar = createProgressBar(stream);
    bar.update(30, 30, 'KB fetched from S3 for title_catalog');
    bar.update(30, 30, 'KB fetched from S3 for title_catalog');
    bar.update(30, 30, 'KB fetched from S3 for title_catalog');
    bar.update(1, 1, 'done');
    expect(lines()).toEqual([
      '[########################] 100% 30/30 KB fetched from S3 for title_catalog',
      '[########################] 100% 1/1 done',
    ]);
  });

  it('counts bytes in the unit that suits the total', () => {
    const small = byteUnits(30_000);
    expect([small.unit, small.scale(12_345), small.scale(30_000)]).toEqual(['KB', 12.3, 30]);
    const medium = byteUnits(4_200_000);
    expect([medium.unit, medium.scale(1_050_000), medium.scale(4_200_000)]).toEqual(['MB', 1.1, 4.2]);
    expect(byteUnits(2.5e9).unit).toBe('GB');
    expect(byteUnits(0).unit).toBe('KB');
  });
});

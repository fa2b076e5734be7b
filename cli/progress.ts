/**
 * A progress bar on stderr. On a terminal it redraws one line; otherwise (CI, pipes) it prints a line
 * per step at most every few seconds, so logs stay readable.
 */
export interface ProgressBar {
  update(done: number, total: number, label: string): void;
  done(message?: string): void;
}

export function createProgressBar(stream: NodeJS.WriteStream = process.stderr, enabled = true): ProgressBar {
  const tty = Boolean(stream.isTTY);
  let lastPrint = 0;
  let lastLine = '';
  let drawn = false;
  return {
    update(done, total, label) {
      if (!enabled) return;
      const ratio = total > 0 ? Math.min(1, done / total) : 0;
      const width = 24;
      const filled = Math.round(ratio * width);
      const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}% ${done}/${total} ${label}`;
      if (tty) {
        const columns = stream.columns ?? 100;
        stream.write(`\r\x1b[2K${bar.slice(0, columns - 1)}`);
        drawn = true;
      } else if ((Date.now() - lastPrint > 2000 || done === total) && bar !== lastLine) {
        // A log gets each distinct line once: a step reported finished again adds nothing.
        stream.write(`${bar}\n`);
        lastPrint = Date.now();
        lastLine = bar;
      }
    },
    done(message) {
      if (!enabled) return;
      if (tty && drawn) stream.write('\r\x1b[2K');
      drawn = false;
      if (message) stream.write(`${message}\n`);
    },
  };
}

/**
 * Byte counts for a progress line, in the one unit that suits the total: a 30 KB catalog reads
 * "12/30 KB", not "0/0 MB".
 */
export function byteUnits(totalBytes: number): { unit: string; scale(bytes: number): number } {
  const [unit, size] = totalBytes >= 1e9 ? ['GB', 1e9] : totalBytes >= 1e6 ? ['MB', 1e6] : ['KB', 1e3];
  return { unit, scale: (bytes) => Math.round((bytes / size) * 10) / 10 };
}

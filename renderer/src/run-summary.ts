import type { RunSummary } from '../../engine/api/contract.ts';

/** `1 date`, `5 dates`: as the CLI counts them, not "1 date(s)". */
export function dateCount(count: number): string {
  return `${count.toLocaleString()} date${count === 1 ? '' : 's'}`;
}

/** A run's or a model's duration: `850 ms`, `12.3 s`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Dates of a run that committed: every selected model succeeded on them (a run records only those).
 * A run's summary or its entry in the run history (its dates split).
 */
export function committedDates(summary: {
  dates: string[];
  models: { etlDate: string | null; status: string }[];
}): string[] {
  return summary.dates.filter((date) => {
    const records = summary.models.filter((m) => m.etlDate === date);
    return records.length > 0 && records.every((m) => m.status === 'success');
  });
}

/** What a cancelled run kept: the dates committed before the cancel; the date it was on rolled back. */
export function cancelledNote(summary: RunSummary): string {
  const kept = committedDates(summary);
  const rolledBack = summary.dates.find((d) =>
    summary.models.some((m) => m.etlDate === d && m.status === 'rolled_back'),
  );
  return [
    kept.length > 0 ? `Committed: ${kept.join(', ')}.` : 'No date was committed.',
    rolledBack ? `${rolledBack} was rolled back; its tables hold what the previous run committed.` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

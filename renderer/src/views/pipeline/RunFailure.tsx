import type { RunSummary } from '../../../../engine/api/contract.ts';
import { daysOfRun, describeRun, type SuggestedRun, suggestedRunOf } from '../../../../engine/api/errors.ts';
import { DataGrid } from '../../components/DataGrid.tsx';

/**
 * The DuckDB types of a failed run's failing rows, from the failed test's record in the summary, so they
 * show as a table's rows do (timestamps with milliseconds); none when the test left no record.
 */
function failingRowTypes(summary: RunSummary): Record<string, string> {
  const { model, etlDate, test } = summary.error?.details ?? {};
  const record = summary.models.find((m) => m.model === model && m.etlDate === etlDate);
  return record?.tests.find((t) => t.name === test)?.sampleTypes ?? {};
}

function rowsFromDetails(details: Record<string, unknown> | undefined): Record<string, unknown>[] {
  const rows = details?.failingRows;
  return Array.isArray(rows)
    ? rows.filter((r): r is Record<string, unknown> => !!r && typeof r === 'object')
    : [];
}

/**
 * A run that just failed: its code and message; the run that fixes it or the rebuild of a table, when the
 * engine names one, a click away; and the failing rows of the test that stopped it, unless the failed
 * model's open details already list them (`rowsShownInDetails`).
 */
export function RunFailure({
  summary,
  availableDates,
  rowsShownInDetails,
  onSuggestedRun,
  onRebuild,
}: {
  summary: RunSummary;
  availableDates: string[];
  rowsShownInDetails: boolean;
  /** Sets the toolbar to the run the engine suggests. */
  onSuggestedRun: (run: SuggestedRun) => void;
  onRebuild: (table: string) => void;
}) {
  const details = summary.error?.details;
  const rebuildOffered = details?.rebuild;
  const offered = suggestedRunOf(details);
  // Offered only when the toolbar can hold it: one date, or a range of days the project all has.
  const suggested =
    offered &&
    (!offered.dates || offered.dates.length === 1) &&
    daysOfRun(offered).every((d) => availableDates.includes(d))
      ? offered
      : undefined;
  const failingRows = rowsFromDetails(details);
  const failingTypes = failingRowTypes(summary);
  const failingColumns = Object.keys(failingRows[0] ?? {}).map((name) => ({
    name,
    type: failingTypes[name] ?? '',
  }));
  return (
    <div className="run-failure" data-testid="run-error">
      <p className="error" role="alert">
        {summary.error?.code}: {summary.error?.message}
      </p>
      {suggested && (
        <p>
          <button
            type="button"
            data-testid="suggested-run"
            onClick={() =>
              onSuggestedRun(
                suggested.from && suggested.from === suggested.to
                  ? { ...suggested, dates: [suggested.from] }
                  : suggested,
              )
            }
          >
            Set up this run: {describeRun(suggested)}
          </button>
        </p>
      )}
      {typeof rebuildOffered === 'string' && (
        <p>
          <button type="button" data-testid="rebuild-table" onClick={() => onRebuild(rebuildOffered)}>
            Rebuild {rebuildOffered} from every date
          </button>
        </p>
      )}
      {failingRows.length > 0 && !rowsShownInDetails && (
        <DataGrid
          columns={failingColumns}
          rows={failingRows as Record<string, never>[]}
          testId="failing-rows"
        />
      )}
    </div>
  );
}

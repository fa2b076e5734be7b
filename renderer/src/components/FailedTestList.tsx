import type { TestResult } from '../../../engine/api/contract.ts';
import { inNumber } from '../../../engine/api/counted.ts';
import { DataGrid } from './DataGrid.tsx';

export interface FailedTest {
  test: TestResult;
  /** Where it failed, e.g. `gold.dim_platform on 2022-06-01`, when the list spans several models or dates. */
  where?: string;
}

/** Data tests that did not pass, each with its count and its sample of failing rows. */
export function FailedTestList({ tests }: { tests: FailedTest[] }) {
  return tests.map(({ test, where }) => (
    <div key={`${where ?? ''} ${test.name}`} className="failed-test" data-testid="failed-test">
      <p className={test.severity === 'error' ? 'error' : 'warning'}>
        {where ? `${where} · ` : ''}
        {test.severity}: {test.name} · {test.failingRows.toLocaleString()} failing{' '}
        {inNumber(test.failingRows, 'row')}
        {/* Which columns hold the NULLs, which values are not accepted or have no parent row. */}
        {test.detail && <span data-testid="failed-test-detail"> · {test.detail}</span>}
        {/* The engine keeps a sample of the failing rows; a count above the rows shown must say so. */}
        {test.sample.length > 0 && test.sample.length < test.failingRows && (
          <span className="muted" data-testid="failed-test-sampled">
            {' '}
            · first {test.sample.length.toLocaleString()} shown
          </span>
        )}
      </p>
      {test.sample.length > 0 && (
        <DataGrid
          columns={Object.keys(test.sample[0] ?? {}).map((name) => ({
            name,
            type: test.sampleTypes?.[name] ?? '',
          }))}
          rows={test.sample}
          testId="failed-test-rows"
        />
      )}
    </div>
  ));
}

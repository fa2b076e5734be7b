import { useState } from 'react';
import type { ProjectInfo, SourceTestInput, SourceTestResult } from '../../../engine/api/contract.ts';
import type { Client } from '../api/client.ts';
import { describeError } from '../connect.ts';

type Draft = {
  kind: 'daily_parquet' | 'file' | 'crawl';
  location: string;
  dateFormat: string;
  itemsPath: string;
  profile: string;
  endpoint: string;
};

const KIND_LABELS: Record<Draft['kind'], string> = {
  daily_parquet: 'Daily Parquet folders (local or s3://)',
  file: 'One file (CSV, Parquet, JSON; local or s3://)',
  crawl: 'Crawler (paged JSON API)',
};

/** The definition `sources.test` checks, in lakehouse.yaml's shape. */
function definitionOf(draft: Draft): Record<string, unknown> {
  if (draft.kind === 'crawl') return { kind: 'crawl', url: draft.location, items_path: draft.itemsPath };
  if (draft.kind === 'file') return { kind: 'file', path: draft.location };
  return { kind: 'daily_parquet', path: draft.location, date_format: draft.dateFormat, columns: {} };
}

/** The lines to paste under `sources:` in lakehouse.yaml once the test finds what was expected. */
function yamlOf(name: string, draft: Draft): string {
  const lines = [`  ${name}:`, `    kind: ${draft.kind}`];
  if (draft.kind === 'crawl')
    lines.push(`    url: "${draft.location}"`, `    items_path: ${draft.itemsPath}`);
  else lines.push(`    path: "${draft.location}"`);
  if (draft.kind === 'daily_parquet')
    lines.push(`    date_format: "${draft.dateFormat}"`, '    columns: {}  # list the expected columns');
  const s3 = [
    ...(draft.profile ? [`  profile: "${draft.profile}"`] : []),
    ...(draft.endpoint ? [`  endpoint: "${draft.endpoint}"`] : []),
  ];
  if (s3.length > 0) lines.push('# and at the top level:', 's3:', ...s3);
  return lines.join('\n');
}

function Outcome({ result, testId }: { result: SourceTestResult; testId: string }) {
  if (!result.ok) {
    return (
      <p className="error" data-testid={testId}>
        {result.error ? `${result.error.code}: ${result.error.message}` : result.summary}
      </p>
    );
  }
  return (
    <div data-testid={testId}>
      <p>
        <strong>{result.summary}</strong>
      </p>
      {result.sample.length > 0 && (
        <ul className="muted">
          {result.sample.map((s) => (
            <li key={s}>{s}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/**
 * Sources: test what each configured source holds (dates, objects, bytes, or a clear error), and try
 * a new one (local folder, S3 URI with a profile, or a crawler) before adding it to lakehouse.yaml.
 */
export function SourcesView({ client, project }: { client: Client; project: ProjectInfo }) {
  const [results, setResults] = useState<Record<string, SourceTestResult | string>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const [draft, setDraft] = useState<Draft>({
    kind: 'daily_parquet',
    location: 's3://bucket/raw/customer_search_log_data',
    dateFormat: '%Y%m%d',
    itemsPath: 'items',
    profile: '',
    endpoint: '',
  });

  const test = async (key: string, input: SourceTestInput) => {
    setBusy(key);
    try {
      const result = await client.call('sources.test', input);
      setResults((r) => ({ ...r, [key]: result }));
    } catch (e) {
      setResults((r) => ({ ...r, [key]: describeError(e) }));
    } finally {
      setBusy(null);
    }
  };

  const show = (key: string) => {
    const result = results[key];
    if (result === undefined) return null;
    if (typeof result === 'string')
      return (
        <p className="error" data-testid={`source-result-${key}`}>
          {result}
        </p>
      );
    return <Outcome result={result} testId={`source-result-${key}`} />;
  };

  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));
  const s3 = draft.location.startsWith('s3://');
  const newResult = results.new;

  return (
    <div className="view sources-view" data-testid="sources-view">
      <h3>Project sources</h3>
      {project.sources.map((source) => (
        <section key={source.name} data-testid={`source-${source.name}`}>
          <div className="toolbar">
            <strong>{source.name}</strong>
            <span className="muted">{KIND_LABELS[source.kind]}</span>
            <button
              type="button"
              data-testid={`source-test-${source.name}`}
              disabled={busy !== null}
              onClick={() => test(source.name, { name: source.name })}
            >
              {busy === source.name ? 'Testing…' : 'Test connection'}
            </button>
          </div>
          {show(source.name)}
        </section>
      ))}

      <h3>Try a new source</h3>
      <div className="toolbar">
        <label className="field">
          Kind
          <select
            data-testid="new-source-kind"
            value={draft.kind}
            onChange={(e) => set({ kind: e.target.value as Draft['kind'] })}
          >
            {Object.entries(KIND_LABELS).map(([kind, label]) => (
              <option key={kind} value={kind}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          {draft.kind === 'crawl' ? 'URL' : 'Folder, file or s3:// URI'}
          <input
            data-testid="new-source-location"
            size={48}
            value={draft.location}
            onChange={(e) => set({ location: e.target.value })}
          />
        </label>
        {draft.kind === 'daily_parquet' && (
          <label className="field">
            Day folders
            <input size={8} value={draft.dateFormat} onChange={(e) => set({ dateFormat: e.target.value })} />
          </label>
        )}
        {draft.kind === 'crawl' && (
          <label className="field">
            Items path
            <input size={12} value={draft.itemsPath} onChange={(e) => set({ itemsPath: e.target.value })} />
          </label>
        )}
      </div>
      {s3 && (
        <div className="toolbar">
          <label className="field">
            AWS profile
            <input
              data-testid="new-source-profile"
              placeholder="default chain"
              value={draft.profile}
              onChange={(e) => set({ profile: e.target.value })}
            />
          </label>
          <label className="field">
            Endpoint
            <input
              data-testid="new-source-endpoint"
              placeholder="AWS (or http://host:port)"
              value={draft.endpoint}
              onChange={(e) => set({ endpoint: e.target.value })}
            />
          </label>
        </div>
      )}
      <div className="toolbar">
        <button
          type="button"
          className="primary"
          data-testid="new-source-test"
          disabled={busy !== null || draft.location.trim() === ''}
          onClick={() =>
            test('new', {
              source: definitionOf(draft),
              ...(s3 && (draft.profile || draft.endpoint)
                ? {
                    s3: {
                      ...(draft.profile ? { profile: draft.profile } : {}),
                      ...(draft.endpoint ? { endpoint: draft.endpoint } : {}),
                    },
                  }
                : {}),
            })
          }
        >
          {busy === 'new' ? 'Testing…' : 'Test connection'}
        </button>
      </div>
      {show('new')}
      {typeof newResult === 'object' && newResult.ok && (
        <div>
          <p className="muted">Add it under sources: in lakehouse.yaml:</p>
          <pre data-testid="new-source-yaml">{yamlOf('new_source', draft)}</pre>
        </div>
      )}
    </div>
  );
}

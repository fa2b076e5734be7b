import { useEffect, useRef, useState } from 'react';
import type {
  ProjectInfo,
  SourceInfo,
  SourceSaveInput,
  SourceTestInput,
  SourceTestResult,
} from '../../../engine/api/contract.ts';
import { inNumber } from '../../../engine/api/counted.ts';
import { parseRenamePairs } from '../../../engine/api/rename-pairs.ts';
import type { Client } from '../api/client.ts';
import { describeError } from '../connect.ts';

type Kind = SourceInfo['kind'];

/** The form's fields, as text; definitionOf turns them into lakehouse.yaml's shape. */
type Draft = {
  name: string;
  kind: Kind;
  /** A folder, file or s3:// URI (daily_parquet, file), or the first page's URL (crawl). */
  location: string;
  dateFormat: string;
  /** What a date without a delivery reads (lakehouse.yaml's if_missing). */
  ifMissing: 'fail' | 'latest' | 'empty';
  /** One `name: TYPE` per line. */
  columns: string;
  format: '' | 'csv' | 'parquet' | 'json';
  /** Comma-separated. */
  requiredColumns: string;
  /** `file column=name` pairs, comma-separated (lakehouse.yaml's rename, init's --catalog-rename). */
  rename: string;
  paging: 'page' | 'cursor';
  pagingParam: string;
  cursorPath: string;
  itemsPath: string;
  idField: string;
  requestsPerSecond: string;
  maxPages: string;
  profile: string;
  endpoint: string;
  region: string;
};

/** The fields of Draft that hold free text (not a choice from a list). */
type TextField = { [K in keyof Draft]: string extends Draft[K] ? K : never }[keyof Draft];

/** One labelled text input bound to a field of the draft. */
function DraftText(props: {
  draft: Draft;
  set: (patch: Partial<Draft>) => void;
  label: string;
  field: TextField;
  testId?: string;
  size?: number;
  placeholder?: string;
  disabled?: boolean;
}) {
  const { draft, set, label, field } = props;
  return (
    <label className="field">
      {label}
      <input
        data-testid={props.testId}
        size={props.size}
        placeholder={props.placeholder}
        disabled={props.disabled}
        value={draft[field]}
        onChange={(e) => set({ [field]: e.target.value })}
      />
    </label>
  );
}

const KIND_LABELS: Record<Kind, string> = {
  daily_parquet: 'Daily Parquet folders (local or s3://)',
  file: 'One file (CSV, Parquet, JSON; local or s3://)',
  crawl: 'Crawler (paged JSON API)',
};

const EMPTY_DRAFT: Draft = {
  name: '',
  kind: 'daily_parquet',
  location: '',
  dateFormat: '%Y%m%d',
  ifMissing: 'fail',
  columns: '',
  format: '',
  requiredColumns: '',
  rename: '',
  paging: 'page',
  pagingParam: 'page',
  cursorPath: 'next_cursor',
  itemsPath: 'items',
  idField: 'id',
  requestsPerSecond: '',
  maxPages: '',
  profile: '',
  endpoint: '',
  region: '',
};

const text = (value: unknown, fallback = ''): string =>
  typeof value === 'string' || typeof value === 'number' ? String(value) : fallback;

const list = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** `name: TYPE` lines to the columns record; a line without a type is reported, not guessed. */
function parseColumns(lines: string): Record<string, string> {
  const columns: Record<string, string> = {};
  for (const line of lines.split('\n').map((l) => l.trim())) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim();
    const type = line.slice(colon + 1).trim();
    if (colon < 0 || name === '' || type === '') {
      throw new Error(`Columns: "${line}" is not "name: TYPE" (e.g. user_id: VARCHAR).`);
    }
    columns[name] = type;
  }
  return columns;
}

/**
 * `file column=name` pairs to the rename record: a file whose columns are named otherwise (the hand-labelled
 * keyword_category.csv's keyword, category) can only be a title catalog with one, which init guesses.
 */
function parseRename(pairs: string): Record<string, string> {
  const parsed = parseRenamePairs(pairs);
  if ('bad' in parsed)
    throw new Error(`Rename: "${parsed.bad}" is not "file column=name" (e.g. keyword=title).`);
  return parsed.rename;
}

/**
 * The definition `sources.test` and `sources.save` take, in lakehouse.yaml's shape. It starts from
 * the saved definition when editing, so settings this form does not show (headers_from_env,
 * updated_field, ...) survive an edit; cleared optional fields are left out, so their defaults apply.
 */
function definitionOf(draft: Draft, saved: Record<string, unknown> | null): Record<string, unknown> {
  const base = saved && saved.kind === draft.kind ? { ...saved } : {};
  const setOptional = (key: string, value: unknown) => {
    if (value === '' || value === undefined) delete base[key];
    else base[key] = value;
  };
  // An empty list or map stays as the file has it (`rename:` over commented-out entries reads as null):
  // left out, the save took the key and those comments with it.
  const setCollection = (key: string, value: unknown[] | Record<string, unknown>) => {
    const written = base[key];
    const writtenEmpty =
      written === null || (typeof written === 'object' && Object.keys(written).length === 0);
    if (Object.keys(value).length > 0) base[key] = value;
    else if (!writtenEmpty) delete base[key];
  };
  if (draft.kind === 'crawl') {
    const rate = Number(draft.requestsPerSecond);
    const pages = Number(draft.maxPages);
    // The form has no field for a page paging's `start`: an edit keeps the saved one (an API counting
    // from 0 would otherwise lose its first page to the default of 1).
    const saved = (base.paging ?? {}) as Record<string, unknown>;
    const kept = saved.type === draft.paging ? saved : {};
    Object.assign(base, {
      kind: 'crawl',
      url: draft.location.trim(),
      paging:
        draft.paging === 'cursor'
          ? { ...kept, type: 'cursor', param: draft.pagingParam, cursor_path: draft.cursorPath }
          : { ...kept, type: 'page', param: draft.pagingParam },
      items_path: draft.itemsPath,
      id_field: draft.idField,
    });
    setOptional('requests_per_second', draft.requestsPerSecond.trim() === '' ? '' : rate);
    setOptional('max_pages', draft.maxPages.trim() === '' ? '' : pages);
    return base;
  }
  Object.assign(base, { kind: draft.kind, path: draft.location.trim() });
  if (draft.kind === 'file') {
    setOptional('format', draft.format);
    setCollection('required_columns', list(draft.requiredColumns));
    setCollection('rename', parseRename(draft.rename));
    return base;
  }
  // The default is left out, so a form save does not add a line the file did not have.
  setOptional('if_missing', draft.ifMissing === 'fail' ? '' : draft.ifMissing);
  // Likewise an edit keeps a default the file leaves out (an unchanged save added two lines); a new source
  // spells out its day folders' format and columns.
  const written = (key: string) => saved === null || saved.kind !== draft.kind || key in saved;
  const columns = parseColumns(draft.columns);
  setOptional(
    'date_format',
    draft.dateFormat === EMPTY_DRAFT.dateFormat && !written('date_format') ? '' : draft.dateFormat,
  );
  setOptional('columns', Object.keys(columns).length === 0 && !written('columns') ? '' : columns);
  return base;
}

/** A saved definition back into the form (for editing). */
function draftOf(name: string, source: Record<string, unknown>): Draft {
  const kind = source.kind as Kind;
  const paging = (source.paging ?? {}) as Record<string, unknown>;
  const columns = (source.columns ?? {}) as Record<string, unknown>;
  return {
    ...EMPTY_DRAFT,
    name,
    kind,
    location: text(kind === 'crawl' ? source.url : source.path),
    dateFormat: text(source.date_format, EMPTY_DRAFT.dateFormat),
    ifMissing: source.if_missing === 'latest' || source.if_missing === 'empty' ? source.if_missing : 'fail',
    columns: Object.entries(columns)
      .map(([column, type]) => `${column}: ${text(type)}`)
      .join('\n'),
    format: (text(source.format) as Draft['format']) || '',
    requiredColumns: Array.isArray(source.required_columns) ? source.required_columns.join(', ') : '',
    rename: Object.entries((source.rename ?? {}) as Record<string, unknown>)
      .map(([from, to]) => `${from}=${text(to)}`)
      .join(', '),
    paging: paging.type === 'cursor' ? 'cursor' : 'page',
    pagingParam: text(paging.param, paging.type === 'cursor' ? 'cursor' : 'page'),
    cursorPath: text(paging.cursor_path, EMPTY_DRAFT.cursorPath),
    itemsPath: text(source.items_path, EMPTY_DRAFT.itemsPath),
    idField: text(source.id_field, EMPTY_DRAFT.idField),
    requestsPerSecond: text(source.requests_per_second),
    maxPages: text(source.max_pages),
  };
}

/** S3 settings typed in the form (empty fields mean "the project's setting"). */
function s3Of(draft: Draft): SourceSaveInput['s3'] {
  if (!draft.location.trim().startsWith('s3://')) return undefined;
  const settings = {
    ...(draft.profile ? { profile: draft.profile } : {}),
    ...(draft.endpoint ? { endpoint: draft.endpoint } : {}),
    ...(draft.region ? { region: draft.region } : {}),
  };
  return Object.keys(settings).length > 0 ? settings : undefined;
}

function Outcome({ result, testId }: { result: SourceTestResult; testId: string }) {
  if (!result.ok) {
    return (
      <p className="error" role="alert" data-testid={testId}>
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

/** The source being edited: its name and saved definition. */
type Editing = { name: string; source: Record<string, unknown> };

/**
 * The Sources form as it was left, for the app's life: its view unmounts when its tab is left, and what
 * was typed there (a new source's name, location, columns) must still be there on coming back.
 */
export class SourceFormSession {
  draft: Draft = EMPTY_DRAFT;
  /** The source being edited, or null when adding one. */
  editing: Editing | null = null;
}

/**
 * Sources: test what each configured source holds (dates, objects, bytes, or a clear error), and add
 * or edit one (local folder, S3 URI with a profile, reference file, or a crawler): test it, then save
 * it to lakehouse.yaml, which the engine edits in place (comments kept) and picks up at once.
 */
export function SourcesView({
  client,
  project,
  form,
}: {
  client: Client;
  project: ProjectInfo;
  form: SourceFormSession;
}) {
  // The list follows saves here; other views see new sources when the project info is next loaded.
  const [sources, setSources] = useState<SourceInfo[]>(project.sources);
  // The app's project info is read again only on focus and after a run: a source saved here was missing
  // from the list when the tab was left and opened again. The list is read afresh on opening, unless a
  // save or remove here has answered first.
  const listChangedHere = useRef(false);
  useEffect(() => {
    let live = true;
    client.call('project.info').then(
      (info) => live && !listChangedHere.current && setSources(info.sources),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [client]);
  const [results, setResults] = useState<Record<string, SourceTestResult | string>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const [draft, setDraft] = useState<Draft>(form.draft);
  /** The source being edited (name and saved definition), or null when adding one. */
  const [editing, setEditing] = useState<Editing | null>(form.editing);
  useEffect(() => {
    form.draft = draft;
    form.editing = editing;
  }, [form, draft, editing]);
  const [saveMessage, setSaveMessage] = useState<{ ok: boolean; text: string } | null>(null);
  // The form's test result and save message land below its buttons, under the fold of a short window
  // once the sources above show their tests: brought into sight, or the buttons seemed to do nothing.
  const formOutcome = useRef<HTMLDivElement>(null);
  const formResult = results.new;
  useEffect(() => {
    if (formResult !== undefined || saveMessage !== null)
      formOutcome.current?.scrollIntoView({ block: 'nearest' });
  }, [formResult, saveMessage]);

  const withBusy = async (key: string, work: () => Promise<void>) => {
    setBusy(key);
    try {
      await work();
    } finally {
      setBusy(null);
    }
  };

  const test = (key: string, input: () => SourceTestInput) =>
    withBusy(key, async () => {
      try {
        const result = await client.call('sources.test', input());
        setResults((r) => ({ ...r, [key]: result }));
      } catch (e) {
        setResults((r) => ({ ...r, [key]: describeError(e) }));
      }
    });

  const edit = (name: string) =>
    withBusy(`edit-${name}`, async () => {
      try {
        const { source } = await client.call('sources.get', { name });
        setEditing({ name, source });
        setDraft(draftOf(name, source));
        setSaveMessage(null);
        setResults(({ new: _, ...r }) => r);
      } catch (e) {
        setResults((r) => ({ ...r, [name]: describeError(e) }));
      }
    });

  const startAdding = () => {
    setEditing(null);
    setDraft(EMPTY_DRAFT);
    forgetFormOutcome();
  };

  const save = () =>
    withBusy('save', async () => {
      try {
        const result = await client.call('sources.save', {
          name: draft.name.trim(),
          source: definitionOf(draft, editing?.source ?? null),
          replace: editing !== null,
          s3: s3Of(draft),
        });
        listChangedHere.current = true;
        setSources(result.sources);
        // A test of the form before the save is about what was typed then: not beside the save's message.
        setResults(({ new: _, ...r }) => r);
        setEditing({ name: result.name, source: definitionOf(draft, editing?.source ?? null) });
        // An edit of a source models read says which, and what they lose, before a run finds out.
        const readers = result.readers.join(', ');
        const dropped = result.droppedColumns.join(', ');
        setSaveMessage({
          ok: true,
          text: `${result.replaced ? 'Updated' : 'Added'} ${result.name} in lakehouse.yaml.${
            result.reopenRequired
              ? ' The S3 settings apply to the whole project (its lake too) once it is reopened.'
              : ''
          }${
            readers === ''
              ? ''
              : dropped === ''
                ? ` Read by ${readers}: its next run reads the source as saved.`
                : ` Read by ${readers}, which no longer get ${inNumber(result.droppedColumns.length, 'column')} ${dropped}: change the models that use them before the next run, or declare the columns again.`
          }`,
        });
      } catch (e) {
        setSaveMessage({ ok: false, text: describeError(e) });
      }
    });

  const remove = (name: string) =>
    withBusy(`remove-${name}`, async () => {
      if (!window.confirm(`Remove source ${name} from lakehouse.yaml?`)) return;
      try {
        const { sources: left } = await client.call('sources.remove', { name });
        listChangedHere.current = true;
        setSources(left);
        if (editing?.name === name) startAdding();
      } catch (e) {
        setResults((r) => ({ ...r, [name]: describeError(e) }));
      }
    });

  const show = (key: string) => {
    const result = results[key];
    if (result === undefined) return null;
    if (typeof result === 'string')
      return (
        <p className="error" role="alert" data-testid={`source-result-${key}`}>
          {result}
        </p>
      );
    return <Outcome result={result} testId={`source-result-${key}`} />;
  };

  // A test or refused save of the form is about what was typed then: an edit of it leaves them behind.
  const forgetFormOutcome = () => {
    setResults(({ new: _, ...r }) => r);
    setSaveMessage(null);
  };
  const set = (patch: Partial<Draft>) => {
    setDraft((d) => ({ ...d, ...patch }));
    forgetFormOutcome();
  };
  const s3 = draft.location.trim().startsWith('s3://');
  const formError = (() => {
    try {
      definitionOf(draft, null);
      return null;
    } catch (e) {
      return (e as Error).message;
    }
  })();
  const incomplete = draft.location.trim() === '' || formError !== null;

  return (
    <div className="view sources-view" data-testid="sources-view">
      <h3>Project sources</h3>
      {sources.map((source) => (
        <section key={source.name} data-testid={`source-${source.name}`}>
          <div className="toolbar">
            <strong>{source.name}</strong>
            <span className="muted">{KIND_LABELS[source.kind]}</span>
            {source.location && (
              <code
                className="source-location"
                data-testid={`source-location-${source.name}`}
                title={source.location}
              >
                {source.location}
              </code>
            )}
            {/* Kept together: a narrow window moves them to the next line as one, not Remove alone. */}
            <span className="source-actions">
              <button
                type="button"
                data-testid={`source-test-${source.name}`}
                disabled={busy !== null}
                onClick={() => test(source.name, () => ({ name: source.name }))}
              >
                {busy === source.name ? 'Testing…' : 'Test connection'}
              </button>
              <button
                type="button"
                data-testid={`source-edit-${source.name}`}
                disabled={busy !== null}
                onClick={() => edit(source.name)}
              >
                Edit
              </button>
              <button
                type="button"
                data-testid={`source-remove-${source.name}`}
                disabled={busy !== null}
                onClick={() => remove(source.name)}
              >
                Remove
              </button>
            </span>
          </div>
          {show(source.name)}
        </section>
      ))}

      <h3 data-testid="source-form-title">{editing ? `Edit ${editing.name}` : 'Add a source'}</h3>
      <div className="toolbar">
        <DraftText
          draft={draft}
          set={set}
          label="Name"
          field="name"
          testId="new-source-name"
          placeholder="e.g. title_catalog"
          disabled={editing !== null}
        />
        <label className="field">
          Kind
          <select
            data-testid="new-source-kind"
            value={draft.kind}
            onChange={(e) => set({ kind: e.target.value as Kind })}
          >
            {Object.entries(KIND_LABELS).map(([kind, label]) => (
              <option key={kind} value={kind}>
                {label}
              </option>
            ))}
          </select>
        </label>
        {editing && (
          <button type="button" data-testid="source-form-new" onClick={startAdding}>
            Add another instead
          </button>
        )}
      </div>
      <div className="toolbar">
        <DraftText
          draft={draft}
          set={set}
          label={draft.kind === 'crawl' ? 'First page URL' : 'Folder, file or s3:// URI'}
          field="location"
          testId="new-source-location"
          size={56}
          placeholder={
            draft.kind === 'crawl'
              ? 'https://api.example.com/titles'
              : 's3://bucket/raw/customer_search_log_data or /data/raw'
          }
        />
        {draft.kind === 'daily_parquet' && (
          <DraftText
            draft={draft}
            set={set}
            label="Day folders"
            field="dateFormat"
            testId="new-source-date-format"
            size={12}
          />
        )}
        {draft.kind === 'daily_parquet' && (
          <label className="field">
            A day not delivered
            <select
              data-testid="new-source-if-missing"
              value={draft.ifMissing}
              onChange={(e) => set({ ifMissing: e.target.value as Draft['ifMissing'] })}
            >
              <option value="fail">fails its date</option>
              <option value="latest">reads the latest day before it</option>
              <option value="empty">reads no rows (needs the columns)</option>
            </select>
          </label>
        )}
        {draft.kind === 'file' && (
          <>
            <label className="field">
              Format
              <select
                data-testid="new-source-format"
                value={draft.format}
                onChange={(e) => set({ format: e.target.value as Draft['format'] })}
              >
                <option value="">from the extension</option>
                <option value="csv">CSV</option>
                <option value="parquet">Parquet</option>
                <option value="json">JSON</option>
              </select>
            </label>
            <DraftText
              draft={draft}
              set={set}
              label="Required columns"
              field="requiredColumns"
              testId="new-source-required-columns"
              placeholder="title, genres"
            />
            <DraftText
              draft={draft}
              set={set}
              label="Rename columns"
              field="rename"
              testId="new-source-rename"
              size={30}
              placeholder="keyword=title, category=genres"
            />
          </>
        )}
      </div>
      {draft.kind === 'daily_parquet' && (
        <label className="field">
          Expected columns (one "name: TYPE" a line; files are checked against them before loading; empty:
          every column, as the files have it)
          <textarea
            data-testid="new-source-columns"
            rows={4}
            cols={40}
            placeholder={'user_id: VARCHAR\nkeyword: VARCHAR'}
            value={draft.columns}
            onChange={(e) => set({ columns: e.target.value })}
          />
        </label>
      )}
      {draft.kind === 'crawl' && (
        <div className="toolbar">
          <label className="field">
            Paging
            <select
              data-testid="new-source-paging"
              value={draft.paging}
              onChange={(e) => {
                const paging = e.target.value as Draft['paging'];
                set({ paging, pagingParam: paging === 'cursor' ? 'cursor' : 'page' });
              }}
            >
              <option value="page">page number</option>
              <option value="cursor">cursor</option>
            </select>
          </label>
          <DraftText draft={draft} set={set} label="Query parameter" field="pagingParam" size={8} />
          {draft.paging === 'cursor' && (
            <DraftText draft={draft} set={set} label="Next cursor at" field="cursorPath" size={12} />
          )}
          <DraftText
            draft={draft}
            set={set}
            label="Items at"
            field="itemsPath"
            testId="new-source-items-path"
            size={10}
          />
          <DraftText draft={draft} set={set} label="Id field" field="idField" size={8} />
          <DraftText
            draft={draft}
            set={set}
            label="Requests/s"
            field="requestsPerSecond"
            size={4}
            placeholder="5"
          />
          <DraftText draft={draft} set={set} label="Max pages" field="maxPages" size={4} placeholder="all" />
        </div>
      )}
      {s3 && (
        <div className="toolbar">
          <DraftText
            draft={draft}
            set={set}
            label="AWS profile"
            field="profile"
            testId="new-source-profile"
            placeholder="project's (or default chain)"
          />
          <DraftText
            draft={draft}
            set={set}
            label="Endpoint"
            field="endpoint"
            testId="new-source-endpoint"
            placeholder="AWS (or http://host:port)"
          />
          <DraftText
            draft={draft}
            set={set}
            label="Region"
            field="region"
            size={10}
            placeholder="project's"
          />
          <span className="muted">Keys never go here: profiles and the AWS environment provide them.</span>
        </div>
      )}
      {formError && draft.location.trim() !== '' && (
        <p className="error" role="alert">
          {formError}
        </p>
      )}
      <div className="toolbar">
        <button
          type="button"
          data-testid="new-source-test"
          disabled={busy !== null || incomplete}
          onClick={() => {
            const settings = s3Of(draft);
            // The typed name, so a failing test names the source (and its field) as a run of it would.
            const name = draft.name.trim();
            test('new', () => ({
              ...(name ? { name } : {}),
              source: definitionOf(draft, editing?.source ?? null),
              ...(settings ? { s3: settings } : {}),
            }));
          }}
        >
          {busy === 'new' ? 'Testing…' : 'Test connection'}
        </button>
        <button
          type="button"
          className="primary"
          data-testid="source-save"
          disabled={busy !== null || incomplete || draft.name.trim() === ''}
          onClick={save}
        >
          {busy === 'save' ? 'Saving…' : editing ? `Save ${editing.name}` : 'Save to lakehouse.yaml'}
        </button>
      </div>
      <div className="form-outcome" ref={formOutcome}>
        {show('new')}
        {saveMessage && (
          // Said by a screen reader too: a refused save as an alert, a save as news.
          <p
            className={saveMessage.ok ? 'muted' : 'error'}
            role={saveMessage.ok ? 'status' : 'alert'}
            data-testid="source-save-result"
          >
            {saveMessage.text}
          </p>
        )}
      </div>
    </div>
  );
}

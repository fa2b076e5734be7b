import {
  Component,
  type KeyboardEvent,
  lazy,
  type ReactNode,
  Suspense,
  useEffect,
  useMemo,
  useState,
} from 'react';
import type { ProjectInfo } from '../../engine/api/contract.ts';
import { connectClient, describeError } from './connect.ts';
import { ConsoleSession } from './console-session.ts';
import { ModelDrafts } from './drafts.ts';
import { HistorySession, SchemaSession } from './explore-sessions.ts';
import { TablesSession } from './tables-session.ts';
import { useTheme } from './theme.ts';
import { HistoryView } from './views/HistoryView.tsx';
import { PipelineView } from './views/PipelineView.tsx';
import { PublishView } from './views/PublishView.tsx';
import { QueryView } from './views/QueryView.tsx';
import { SourceFormSession, SourcesView } from './views/SourcesView.tsx';
import { StarSchemaView } from './views/StarSchemaView.tsx';
import { TablesView } from './views/TablesView.tsx';

// The editor brings CodeMirror: it loads when its tab is first opened.
const ModelEditorView = lazy(() =>
  import('./views/ModelEditorView.tsx').then((m) => ({ default: m.ModelEditorView })),
);

const TABS = ['Pipeline', 'Tables', 'Query', 'Schema', 'History', 'Editor', 'Sources', 'Publish'] as const;
type Tab = (typeof TABS)[number];

/**
 * The open tab lives in the URL fragment (`#tab=tables`) so reload and Back/Forward keep it. The
 * launch URL's `#token=` is read and cleared before this runs (launchToken), and never written back.
 */
function tabOfHash(hash: string): Tab {
  const name = new URLSearchParams(hash.replace(/^#/, '')).get('tab');
  return TABS.find((t) => t.toLowerCase() === name) ?? 'Pipeline';
}

/**
 * A view that throws while rendering, or whose code cannot be fetched (the editor loads on first use, so
 * a stopped server fails it), says why in its place: without it React unmounts the whole app, a blank page.
 */
class ViewBoundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state: { error: unknown } = { error: null };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override render() {
    const { error } = this.state;
    if (error === null) return this.props.children;
    const message = error instanceof Error ? error.message : String(error);
    const notLoaded = /dynamically imported module|importing a module script failed/i.test(message);
    return (
      <p className="error" role="alert" data-testid="view-error">
        {notLoaded
          ? `This view's code could not be loaded from the app's server (${message}). Start it again (\`lakehouse app\`, or \`npm start\` in the app folder), then reload this page.`
          : `This view stopped with an error: ${message}. Reload the page; the other tabs still work.`}
      </p>
    );
  }
}

/** The app shell: one client for the app's life, the project's name, and the three views as tabs. */
export function App() {
  const client = useMemo(() => connectClient(), []);
  const [project, setProject] = useState<ProjectInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tab, setShownTab] = useState<Tab>(() => tabOfHash(location.hash));
  // Setting the hash adds a history entry; hashchange (also on Back/Forward) shows its tab.
  const setTab = (t: Tab) => {
    location.hash = `tab=${t.toLowerCase()}`;
  };
  useEffect(() => {
    const follow = () => setShownTab(tabOfHash(location.hash));
    window.addEventListener('hashchange', follow);
    return () => window.removeEventListener('hashchange', follow);
  }, []);
  // Left/Right (wrapping), Home and End open the tab they reach and move the focus to it.
  const onTabKey = (event: KeyboardEvent<HTMLDivElement>) => {
    const moves: Record<string, number> = {
      ArrowRight: TABS.indexOf(tab) + 1,
      ArrowLeft: TABS.indexOf(tab) - 1,
      Home: 0,
      End: TABS.length - 1,
    };
    const to = moves[event.key];
    if (to === undefined) return;
    event.preventDefault();
    const next = TABS[(to + TABS.length) % TABS.length]!;
    setTab(next);
    document.getElementById(`tab-${next.toLowerCase()}`)?.focus();
  };
  const [theme, toggleTheme] = useTheme();
  // Outlives the editor's tab: its unsaved edits and the last version of each model that ran.
  const drafts = useMemo(() => new ModelDrafts(), []);
  // A run started by the editor goes on when its tab is left: its summary is kept for when it comes back.
  useEffect(
    () =>
      client.onEvent((event) => {
        if (event.type === 'run.finished') drafts.rememberSummary(event.summary);
      }),
    [client, drafts],
  );
  // Outlives the console's tab: its query, result and error.
  const consoleSession = useMemo(() => new ConsoleSession(), []);
  // Outlives the table explorer's tab: the table open in it, its order, filters and profiled column.
  const tablesSession = useMemo(() => new TablesSession(), []);
  // Outlive the Schema and History tabs: the relationship clicked, the member looked up.
  const schemaSession = useMemo(() => new SchemaSession(), []);
  const historySession = useMemo(() => new HistorySession(), []);
  // Outlives the Sources tab: what was typed in its form.
  const sourceForm = useMemo(() => new SourceFormSession(), []);
  // The publish view stays mounted (hidden) once opened: unmounted on leaving its tab, a publish still
  // running lost its progress and Cancel, its outcome was never shown, and the target typed went back to
  // the default (where Snapshots then found no table).
  const [publishOpened, setPublishOpened] = useState(tab === 'Publish');
  useEffect(() => {
    if (tab === 'Publish') setPublishOpened(true);
  }, [tab]);

  useEffect(() => {
    // The browser asks before a reload or close would throw an unsaved model edit away.
    const onBeforeUnload = (event: BeforeUnloadEvent) => {
      if (drafts.unsaved().length === 0) return;
      event.preventDefault();
      event.returnValue = '';
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => window.removeEventListener('beforeunload', onBeforeUnload);
  }, [drafts]);

  useEffect(() => {
    let live = true;
    let shown = '';
    // Kept as it is unless it changed, so the views do not reload for nothing.
    const load = () =>
      client.call('project.info').then(
        (info) => {
          if (!live) return;
          // A refresh that failed before (engine restarting, a broken connection) is over.
          setError(null);
          // Whether a run is going changes with every run and no view reads it here: not a change.
          const text = JSON.stringify({ ...info, activeRunId: null });
          if (text === shown) return;
          shown = text;
          setProject(info);
        },
        (e) => live && setError(describeError(e)),
      );
    void load();
    // Model files edited in another editor: the engine reads them again when asked, so ask when the
    // window comes back into focus and after each run.
    const onFocus = () => void load();
    window.addEventListener('focus', onFocus);
    const unsubscribe = client.onEvent((event) => {
      if (event.type === 'run.finished') void load();
    });
    return () => {
      live = false;
      window.removeEventListener('focus', onFocus);
      unsubscribe();
    };
  }, [client]);

  return (
    <div className="app">
      <header className="app-header">
        <span className="app-title">Lakehouse Explorer</span>
        <span className="project-name" data-testid="project-name" title={project?.root}>
          {project?.name ?? '…'}
        </span>
        <div className="tabs" role="tablist" aria-label="Views" onKeyDown={onTabKey}>
          {TABS.map((t) => (
            <button
              key={t}
              type="button"
              role="tab"
              id={`tab-${t.toLowerCase()}`}
              aria-selected={tab === t}
              aria-controls="view"
              // One tab stop for the whole list; the arrow keys move between tabs (WAI-ARIA tabs).
              tabIndex={tab === t ? 0 : -1}
              className={`tab${tab === t ? ' active' : ''}`}
              data-testid={`tab-${t.toLowerCase()}`}
              onClick={() => setTab(t)}
            >
              {t}
            </button>
          ))}
        </div>
        <button
          type="button"
          className="theme-toggle"
          data-testid="theme-toggle"
          data-theme={theme}
          aria-label={theme === 'dark' ? 'Switch to the light theme' : 'Switch to the dark theme'}
          title={theme === 'dark' ? 'Light theme' : 'Dark theme'}
          onClick={toggleTheme}
        >
          {theme === 'dark' ? '☀' : '☾'}
        </button>
      </header>
      <main className="app-main" id="view" role="tabpanel" aria-labelledby={`tab-${tab.toLowerCase()}`}>
        {error && (
          <p className="error" role="alert" data-testid="app-error">
            {error}
          </p>
        )}
        {!project && !error && <p className="muted">Connecting to the engine…</p>}
        {/* Keyed by tab: another tab gets a fresh try. */}
        <ViewBoundary key={tab}>
          {project && tab === 'Pipeline' && (
            <PipelineView
              client={client}
              project={project}
              onEditModel={(model) => {
                drafts.model = model;
                setTab('Editor');
              }}
            />
          )}
          {project && tab === 'Tables' && <TablesView client={client} session={tablesSession} />}
          {project && tab === 'Query' && <QueryView client={client} session={consoleSession} />}
          {project && tab === 'Schema' && <StarSchemaView client={client} session={schemaSession} />}
          {project && tab === 'History' && (
            <HistoryView client={client} project={project} session={historySession} />
          )}
          {project && tab === 'Editor' && (
            <Suspense fallback={<p className="muted">Loading the editor…</p>}>
              <ModelEditorView client={client} project={project} drafts={drafts} />
            </Suspense>
          )}
          {project && tab === 'Sources' && (
            <SourcesView client={client} project={project} form={sourceForm} />
          )}
        </ViewBoundary>
        {project && publishOpened && (
          // Hidden with its view: a Publish view that failed would otherwise show its error on every tab.
          <div className="view-slot" hidden={tab !== 'Publish'}>
            <ViewBoundary>
              <PublishView client={client} project={project} hidden={tab !== 'Publish'} />
            </ViewBoundary>
          </div>
        )}
      </main>
    </div>
  );
}

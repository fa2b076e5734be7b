import type { RunSummary } from '../../engine/api/contract.ts';

/** A Save & run of a model: the run the engine has its diff for, and what the file held before the save. */
export interface AppliedRun {
  runId: string;
  /**
   * The version to offer back if this run fails; null for a run this page did not start (one found in
   * progress after a reload), whose version before the engine's run records give.
   */
  before: string | null;
}

/** What the model editor holds for one model beyond the saved file. */
export interface ModelDraft {
  /** Text edited and not saved; absent when the editor holds the saved file. */
  text?: string;
  /** The file's text that edit started from: a save is refused if the file holds something else now. */
  base?: string;
  /** The text saved before a save whose run failed: the last version that ran, kept until a run succeeds. */
  lastRan?: string;
  /** The model's last Save & run, whose diff the editor shows again when the model or its tab is opened. */
  lastApply?: AppliedRun;
  /**
   * The text the editor's last Save & run wrote. A file that reads otherwise was changed outside the editor
   * since: that run's failure, and the version it offers back, are of a text no longer there.
   */
  saved?: string;
}

/** Run summaries kept for the editor: as many as the engine keeps diffs of. */
const SUMMARIES_KEPT = 10;

/**
 * The editor's drafts, per model, for the app's life: the editor view unmounts when its tab is left, and
 * switching models must not throw an edit away either. The app asks before unloading while any is unsaved.
 */
export class ModelDrafts {
  private readonly byModel = new Map<string, ModelDraft>();
  private readonly summaries = new Map<string, RunSummary>();
  /** The model last open in the editor, to open it again when the editor's tab comes back. */
  model: string | null = null;
  /** The date last picked for previews and runs, kept the same way. */
  date: string | null = null;

  get(model: string): ModelDraft {
    return this.byModel.get(model) ?? {};
  }

  update(model: string, change: Partial<ModelDraft>): void {
    const next = { ...this.get(model), ...change };
    for (const key of Object.keys(next) as (keyof ModelDraft)[]) {
      if (next[key] === undefined) delete next[key];
    }
    if (Object.keys(next).length === 0) this.byModel.delete(model);
    else this.byModel.set(model, next);
  }

  /** Models with unsaved text. */
  unsaved(): string[] {
    return [...this.byModel].filter(([, draft]) => draft.text !== undefined).map(([model]) => model);
  }

  /** Keeps a finished run's summary: its failed tests show with its diff, also if the editor was not open. */
  rememberSummary(summary: RunSummary): void {
    this.summaries.set(summary.runId, summary);
    for (const old of [...this.summaries.keys()].slice(0, -SUMMARIES_KEPT)) this.summaries.delete(old);
  }

  summaryOf(runId: string): RunSummary | null {
    return this.summaries.get(runId) ?? null;
  }
}

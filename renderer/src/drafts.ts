/** What the model editor holds for one model beyond the saved file. */
export interface ModelDraft {
  /** Text edited and not saved; absent when the editor holds the saved file. */
  text?: string;
  /** The text saved before a save whose run failed: the last version that ran, kept until a run succeeds. */
  lastRan?: string;
}

/**
 * The editor's drafts, per model, for the app's life: the editor view unmounts when its tab is left, and
 * switching models must not throw an edit away either. The app asks before unloading while any is unsaved.
 */
export class ModelDrafts {
  private readonly byModel = new Map<string, ModelDraft>();
  /** The model last open in the editor, to open it again when the editor's tab comes back. */
  model: string | null = null;

  get(model: string): ModelDraft {
    return this.byModel.get(model) ?? {};
  }

  update(model: string, change: Partial<ModelDraft>): void {
    const next = { ...this.get(model), ...change };
    if (next.text === undefined) delete next.text;
    if (next.lastRan === undefined) delete next.lastRan;
    if (Object.keys(next).length === 0) this.byModel.delete(model);
    else this.byModel.set(model, next);
  }

  /** Models with unsaved text. */
  unsaved(): string[] {
    return [...this.byModel].filter(([, draft]) => draft.text !== undefined).map(([model]) => model);
  }
}

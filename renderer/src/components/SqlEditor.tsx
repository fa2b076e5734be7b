import { sql } from '@codemirror/lang-sql';
import { EditorState, StateEffect, StateField } from '@codemirror/state';
import { Decoration, type DecorationSet } from '@codemirror/view';
import { basicSetup, EditorView } from 'codemirror';
import { useEffect, useMemo, useRef } from 'react';
import { sqlEditorTheme } from './sqlEditorTheme.ts';

/** Marks one line (1-based) as the error's, or clears the mark with null. */
const setErrorLine = StateEffect.define<number | null>();

const errorLineField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, transaction) {
    let next = marks.map(transaction.changes);
    for (const effect of transaction.effects) {
      if (!effect.is(setErrorLine)) continue;
      const line = effect.value;
      if (line === null || line < 1 || line > transaction.state.doc.lines) next = Decoration.none;
      else {
        const at = transaction.state.doc.line(line).from;
        next = Decoration.set([Decoration.line({ class: 'cm-error-line' }).range(at)]);
      }
    }
    // An edit makes the old error stale.
    return transaction.docChanged ? Decoration.none : next;
  },
  provide: (field) => EditorView.decorations.from(field),
});

export interface SqlEditorProps {
  /** The document to show; replacing it (a revert, a reload) is an edit the user can undo. */
  value: string;
  /**
   * Whose document `value` is (a model's id). A new one starts a new editor state, so undo never brings
   * back the text of the document shown before.
   */
  documentKey: string | null;
  onChange: (text: string) => void;
  /** A line to mark as the error's and scroll to; null for none. */
  errorLine: number | null;
  /** The editor's accessible name: a screen reader says it on entering the text (there is no <label>). */
  label: string;
  testId?: string;
}

/** A CodeMirror 6 editor with SQL highlighting and an error-line marker. */
export function SqlEditor({
  value,
  documentKey,
  onChange,
  errorLine,
  label,
  testId = 'sql-editor',
}: SqlEditorProps) {
  const host = useRef<HTMLDivElement | null>(null);
  const view = useRef<EditorView | null>(null);
  const changed = useRef(onChange);
  changed.current = onChange;
  // The editor starts empty and without a document: the first one shown gets a state of its own too.
  const shownDocument = useRef<string | null>(null);
  const extensions = useMemo(
    () => [
      basicSetup,
      sql(),
      sqlEditorTheme,
      errorLineField,
      EditorView.contentAttributes.of({ 'aria-label': label }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) changed.current(update.state.doc.toString());
      }),
    ],
    [label],
  );

  useEffect(() => {
    if (!host.current) return;
    const editor = new EditorView({ parent: host.current, doc: '', extensions });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
  }, [extensions]);

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    if (documentKey !== shownDocument.current) {
      // A fresh state, undo history included: an undo in this document must not restore the last one's text.
      shownDocument.current = documentKey;
      editor.setState(EditorState.create({ doc: value, extensions }));
      return;
    }
    if (editor.state.doc.toString() === value) return;
    editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: value } });
  }, [value, documentKey, extensions]);

  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const effects: StateEffect<unknown>[] = [setErrorLine.of(errorLine)];
    if (errorLine !== null && errorLine >= 1 && errorLine <= editor.state.doc.lines) {
      effects.push(EditorView.scrollIntoView(editor.state.doc.line(errorLine).from, { y: 'center' }));
    }
    editor.dispatch({ effects });
  }, [errorLine]);

  return <div className="code-editor" ref={host} data-testid={testId} />;
}

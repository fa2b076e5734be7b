import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { EditorView } from '@codemirror/view';
import { tags } from '@lezer/highlight';

// CodeMirror's default colours are made for a white page and read at under 2:1 on the dark panel. These
// take the app's colour variables (styles.css, --syntax-*), so the editor follows the theme toggle
// without being rebuilt, and each theme picks colours that read on its own panel and active line.

const sqlHighlightStyle = HighlightStyle.define([
  { tag: tags.keyword, color: 'var(--syntax-keyword)' },
  { tag: [tags.atom, tags.bool, tags.null, tags.labelName], color: 'var(--syntax-atom)' },
  { tag: [tags.number, tags.literal], color: 'var(--syntax-number)' },
  { tag: [tags.string, tags.special(tags.string)], color: 'var(--syntax-string)' },
  { tag: [tags.typeName, tags.namespace], color: 'var(--syntax-type)' },
  { tag: [tags.special(tags.name), tags.definition(tags.variableName)], color: 'var(--syntax-name)' },
  { tag: tags.comment, color: 'var(--syntax-comment)' },
  { tag: tags.meta, color: 'var(--syntax-meta)' },
  { tag: tags.invalid, color: 'var(--bad)' },
]);

const editorChrome = EditorView.theme({
  '&': { color: 'var(--text)', backgroundColor: 'var(--panel)' },
  '.cm-content': { caretColor: 'var(--text)' },
  '.cm-cursor, .cm-dropCursor': { borderLeftColor: 'var(--text)' },
  '.cm-activeLine': { backgroundColor: 'var(--editor-active-line)' },
  '.cm-gutters': { backgroundColor: 'var(--panel-alt)', color: 'var(--muted)', borderColor: 'var(--border)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--editor-active-line)', color: 'var(--text)' },
  '.cm-selectionBackground, &.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground': {
    backgroundColor: 'var(--editor-selection)',
  },
  '.cm-selectionMatch': { backgroundColor: 'var(--editor-selection-match)' },
  '.cm-panels': { backgroundColor: 'var(--panel-alt)', color: 'var(--text)' },
  '.cm-tooltip': { backgroundColor: 'var(--panel)', color: 'var(--text)', borderColor: 'var(--border)' },
  '.cm-tooltip-autocomplete > ul > li[aria-selected]': {
    backgroundColor: 'var(--selected)',
    color: 'var(--text)',
  },
  '.cm-textfield': { backgroundColor: 'var(--panel)', color: 'var(--text)', borderColor: 'var(--border)' },
});

/** The editor's colours in the app's light or dark theme, whichever <html data-theme> says. */
export const sqlEditorTheme = [editorChrome, syntaxHighlighting(sqlHighlightStyle)];

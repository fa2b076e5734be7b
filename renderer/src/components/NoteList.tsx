import type { GraphNote } from '../../../engine/api/contract.ts';
import { noteDates } from '../../../engine/api/notes.ts';

/** A model's run notes, each after the dates it came from (grouped notes name them on hover). */
export function NoteList({ notes, testId }: { notes: readonly GraphNote[]; testId?: string }) {
  return (
    <ul className="model-notes" data-testid={testId}>
      {notes.map((note) => (
        <li key={`${note.etlDate ?? ''} ${note.text}`}>
          {note.etlDate && (
            <span className="muted" title={note.dates?.join(', ')}>
              {noteDates(note)}:{' '}
            </span>
          )}
          {note.text}
        </li>
      ))}
    </ul>
  );
}

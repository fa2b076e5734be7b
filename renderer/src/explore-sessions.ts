import type { OrphanKind } from '../../engine/api/contract.ts';

/**
 * What the History view shows, for the app's life: its view unmounts when its tab is left, and coming
 * back must find the table, the key in the box and the member opened as they were (its history is read
 * again: a run meanwhile may have added versions).
 */
export class HistorySession {
  /** The table picked, or null for the view's default (the first SCD2 dimension). */
  model: string | null = null;
  /** The text in the key box, opened or not. */
  key = '';
  /** The table the key in the box was typed or picked for (the view empties the box for a table keyed otherwise). */
  keyTypedFor: string | null = null;
  /** Each table's key columns, as history.keys gave them. */
  keyColumnsOf = new Map<string, string[]>();
  /** The member whose history was asked for last, with its table. */
  opened: { model: string; key: string } | null = null;
}

/**
 * What the Schema view shows, for the app's life: the relationship clicked and which of its orphans are
 * listed. The edge is named by its foreign key (`from.column`), its counts read again with the diagram.
 */
export class SchemaSession {
  selectedEdge: string | null = null;
  kind: OrphanKind = 'all';
}

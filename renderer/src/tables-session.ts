import type { ColumnFilter, FilterOp, SortKey } from '../../engine/api/contract.ts';

/**
 * What the table explorer shows, for the app's life: its view unmounts when its tab is left, and coming
 * back must find the table, its order, filters and profiled column as they were (its rows are read again).
 */
export class TablesSession {
  selected: string | null = null;
  sort: SortKey[] = [];
  filters: ColumnFilter[] = [];
  /** The filter being written, not added yet. */
  draft: { column: string; op: FilterOp; value: string } = { column: '', op: 'contains', value: '' };
  profileColumn: string | null = null;
}

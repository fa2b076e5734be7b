import type { QueryExport } from '../../engine/api/contract.ts';

/** A file's size as the export's status line says it. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Hands an exported file to the browser's download (Electron shows its save dialog for it). */
export function download(file: QueryExport): void {
  const type = file.format === 'csv' ? 'text/csv' : 'application/vnd.apache.parquet';
  const url = URL.createObjectURL(new Blob([file.content as Uint8Array<ArrayBuffer>], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = file.fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** What an export wrote, for the line under its buttons. */
export function exportedText(file: QueryExport): string {
  return `Exported ${file.rows.toLocaleString()} row${file.rows === 1 ? '' : 's'} to ${file.fileName} (${formatBytes(file.bytes)})`;
}

/**
 * Column renames written `keyword=title, category=genres` (init's --catalog-rename, the Sources form's
 * Rename columns) as {keyword: 'title', category: 'genres'}, or the first item that is not
 * `<file column>=<name>`. Browser-safe: the renderer parses the form with it.
 */
export function parseRenamePairs(text: string): { rename: Record<string, string> } | { bad: string } {
  const rename: Record<string, string> = {};
  for (const item of text.split(',').map((s) => s.trim())) {
    if (item === '') continue;
    const [from, to, ...rest] = item.split('=').map((part) => part.trim());
    if (!from || !to || rest.length > 0) return { bad: item };
    rename[from] = to;
  }
  return { rename };
}

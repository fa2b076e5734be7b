/**
 * Where a publish goes (a warehouse path, a catalog, a database), inside a sentence: shown whole and
 * wrapped where needed, since it is what the user checks before and after publishing.
 */
export function Location({ text, testId }: { text: string; testId?: string }) {
  return (
    <span className="publish-location" data-testid={testId}>
      {text}
    </span>
  );
}

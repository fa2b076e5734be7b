/** A value that may be long (hosts, paths, checksums): cut with an ellipsis, whole in the tooltip. */
export function Clipped({ text, testId }: { text: string; testId?: string }) {
  return (
    <span className="publish-ellipsis" title={text} data-testid={testId}>
      {text}
    </span>
  );
}

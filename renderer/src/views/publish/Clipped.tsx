/** A table cell's value that may be long (distribution, column changes, checksums): cut with an ellipsis, whole in the tooltip. */
export function Clipped({ text }: { text: string }) {
  return (
    <span className="publish-ellipsis" title={text}>
      {text}
    </span>
  );
}

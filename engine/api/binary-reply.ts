// Carries replies that hold binary data (Arrow windows, exported files) over HTTP without base64:
// a 4-byte little-endian length, the reply as JSON with each Uint8Array replaced by a `{"$bytes":[start,
// length]}` reference, then the bytes. Imports nothing, so the renderer bundle can decode it too.

/** The Content-Type of a reply in this form. */
export const BINARY_REPLY_TYPE = 'application/vnd.lakehouse.binary-reply';

interface BytesRef {
  $bytes: [number, number];
}

function isBytesRef(value: unknown): value is BytesRef {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.keys(value).length === 1 &&
    Array.isArray((value as BytesRef).$bytes)
  );
}

/** Encodes a reply that holds at least one Uint8Array; null when it holds none (send plain JSON then). */
export function encodeBinaryReply(value: unknown): Uint8Array | null {
  const blobs: Uint8Array[] = [];
  let size = 0;
  const json = JSON.stringify(value ?? null, (_key, v: unknown) => {
    if (!(v instanceof Uint8Array)) return v;
    const ref: BytesRef = { $bytes: [size, v.byteLength] };
    blobs.push(v);
    size += v.byteLength;
    return ref;
  });
  if (blobs.length === 0) return null;
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(4 + head.byteLength + size);
  new DataView(out.buffer).setUint32(0, head.byteLength, true);
  out.set(head, 4);
  let at = 4 + head.byteLength;
  for (const blob of blobs) {
    out.set(blob, at);
    at += blob.byteLength;
  }
  return out;
}

/** Decodes encodeBinaryReply's output; the Uint8Arrays are views over `body` (no copy). */
export function decodeBinaryReply(body: ArrayBuffer): unknown {
  const view = new DataView(body);
  if (body.byteLength < 4) throw new Error('binary reply shorter than its header');
  const headLength = view.getUint32(0, true);
  if (4 + headLength > body.byteLength) throw new Error('binary reply cut short');
  const json = new TextDecoder().decode(new Uint8Array(body, 4, headLength));
  const blobStart = 4 + headLength;
  return JSON.parse(json, (_key, v: unknown) => {
    if (!isBytesRef(v)) return v;
    const [start, length] = v.$bytes;
    if (blobStart + start + length > body.byteLength) throw new Error('binary reply cut short');
    return new Uint8Array(body, blobStart + start, length);
  });
}

/**
 * Reads a `fetch` answer's body, refusing one over `maxBytes`: at once when `Content-Length` says
 * so, else as soon as the stream passes the cap (the rest is never read). `tooLarge` makes the
 * caller's typed error; it gets the declared length when that is what gave it away.
 *
 * @example const body = await readCappedBody(response, 1 << 20, () => new EctKeyError('JWK Set over 1 MiB'));
 */
export async function readCappedBody(
  response: Response,
  maxBytes: number,
  tooLarge: (declaredBytes?: number) => Error,
): Promise<Buffer<ArrayBuffer>> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(declared);
  }
  if (response.body === null) return Buffer.alloc(0);
  // A reader, not `for await`: with DOM types in the program (a test's browser driver), the
  // global ReadableStream type has no async iterator.
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

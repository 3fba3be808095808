import { AvlocError } from '../../errors.ts';

/**
 * A fetch Response body as text, at most `maxBytes` of it: a Content-Length over the limit is
 * refused before anything is read, and a body without one is cut off (its stream cancelled) as
 * soon as it passes the limit, so a misbehaving server cannot make the node buffer without bound.
 */
export async function readBoundedText(res: Response, maxBytes: number, what: string): Promise<string> {
  const tooLarge = (got: string) =>
    new AvlocError('INFERENCE_REMOTE_FAILED', `${what}: response body of ${got} bytes is over the ${maxBytes}-byte budget for it; refused unparsed`);
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge(String(declared));
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(`more than ${maxBytes}`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

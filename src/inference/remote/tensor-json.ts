import { AvlocError } from '../../errors.ts';
import { itemSize, type RemoteGraphSpec } from './graph-specs.ts';
import { describeIssues, inferResponseSchema } from './v2-wire.ts';

/**
 * One batch as an Open Inference Protocol JSON inference request, and its response back as one
 * flat Float32Array (the tensor extension for binary data is not used: plain JSON tensors).
 *
 * Request: `{"id", "inputs": [{"name", "shape": [B, ...dims], "datatype", "data": [flat,
 * row-major]}], "outputs": [{"name"}]}`. The data array is written with TypedArray.join, which
 * prints each element as the shortest decimal that reads back to the same double — for a
 * float32 element, to the same float32 — so values arrive exactly; it is also far cheaper than
 * stringifying an Array copy of a few hundred thousand numbers. JSON has no NaN or Infinity, so
 * a batch holding one is refused here (INTERNAL: decoded audio is always finite).
 *
 * Response: the output named as the card names it must be FP32 with shape [B, ...card dims] and
 * exactly that many elements, flat or nested (the protocol allows both). A `null` element reads
 * as NaN: JSON cannot carry a non-finite float, and that is how JSON.stringify writes one.
 */
export function inferRequestBody(spec: RemoteGraphSpec, flat: Uint8Array | Float32Array, batch: number, id: string): string {
  const { input, output } = spec;
  if (flat instanceof Float32Array) {
    for (let i = 0; i < flat.length; i++) {
      if (!Number.isFinite(flat[i]!)) {
        throw new AvlocError('INTERNAL', `${spec.graph} batch: element ${i} is ${flat[i]}, which a JSON tensor cannot carry`);
      }
    }
  }
  const shape = [batch, ...input.itemDims];
  return (
    `{"id":${JSON.stringify(id)},"inputs":[{"name":${JSON.stringify(input.name)},"shape":${JSON.stringify(shape)},` +
    `"datatype":"${input.datatype}","data":[${flat.join(',')}]}],"outputs":[{"name":${JSON.stringify(output.name)}}]}`
  );
}

/** The card's output of a parsed response body, checked and flattened; throws INFERENCE_REMOTE_FAILED. */
export function readInferOutput(json: unknown, spec: RemoteGraphSpec, batch: number, id: string): Float32Array {
  const fail = (what: string) => new AvlocError('INFERENCE_REMOTE_FAILED', `remote model "${spec.model}": ${what}`);
  const parsed = inferResponseSchema.safeParse(json);
  if (!parsed.success) throw fail(`the response is not an inference response object (${describeIssues(parsed.error)})`);
  const res = parsed.data;
  if (res.id !== undefined && res.id !== id) throw fail(`the response is for request "${res.id}", not "${id}"`);
  const want = spec.output;
  const out = res.outputs.find((o) => o.name === want.name);
  if (!out) throw fail(`the response has no output "${want.name}" (model.json ${want.nameField}); its outputs are ${JSON.stringify(res.outputs.map((o) => o.name))}`);
  if (out.datatype !== want.datatype) throw fail(`output "${want.name}" datatype: expected ${want.datatype}, got ${out.datatype}`);
  const shape = [batch, ...want.itemDims];
  if (out.shape.length !== shape.length || out.shape.some((d, i) => d !== shape[i])) {
    throw fail(`output "${want.name}" shape: expected ${JSON.stringify(shape)}, got ${JSON.stringify(out.shape)}`);
  }
  const n = batch * itemSize(want);
  const values = new Float32Array(n);
  const count = flattenInto(out.data, values, 0);
  if (count !== n) throw fail(`output "${want.name}" has ${count === -1 ? 'more than ' + n : count} elements; shape ${JSON.stringify(shape)} needs ${n}`);
  return values;
}

/**
 * Writes the numbers of a flat or nested array into `into` from `at`; returns where it ended,
 * or -1 once there are more than fit. A non-number element other than null throws.
 */
function flattenInto(data: readonly unknown[], into: Float32Array, at: number): number {
  let k = at;
  for (const v of data) {
    if (Array.isArray(v)) {
      k = flattenInto(v, into, k);
      if (k === -1) return -1;
      continue;
    }
    if (k >= into.length) return -1;
    if (typeof v === 'number') into[k++] = v;
    else if (v === null) into[k++] = Number.NaN;
    else throw new AvlocError('INFERENCE_REMOTE_FAILED', `output element ${k} is ${JSON.stringify(v)}, not a number`);
  }
  return k;
}

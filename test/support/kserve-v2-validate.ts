/**
 * The test server's check of an inference request (Open Inference Protocol, JSON tensors),
 * written from the protocol, independently of the client in src/:
 *  - the body is an object; `id` a string if present; `parameters` an object if present;
 *  - `inputs` a non-empty array; each `{name, shape, datatype, data}` (+ optional `parameters`),
 *    every model input given exactly once and no other name;
 *  - `datatype` one of the protocol's and the model's; `shape` non-negative integers, of the
 *    model's rank, each fixed model dim matched;
 *  - `data` row-major, flat or nested exactly as the shape, with as many elements as the shape
 *    holds; UINT8 elements integers in [0, 255], FP32 elements numbers;
 *  - `outputs`, if present, an array of `{name}` (+ optional `parameters`) naming model outputs.
 * Any failure is a message for a 400 `{"error": "..."}`.
 */
export interface ModelTensor {
  name: string;
  datatype: string;
  /** -1 for a variable dim. */
  shape: number[];
}

export interface V2Model {
  name: string;
  versions?: string[];
  platform: string;
  inputs: ModelTensor[];
  outputs: ModelTensor[];
}

export interface CheckedInput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: number[];
  readonly values: number[];
}

export type InferCheck =
  | { readonly ok: true; readonly id: string | undefined; readonly inputs: CheckedInput[]; readonly outputs: string[] | undefined }
  | { readonly ok: false; readonly error: string };

const DATATYPES = new Set(['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

class Bad extends Error {}

export function validateInferRequest(body: unknown, model: V2Model): InferCheck {
  try {
    return check(body, model);
  } catch (err) {
    if (err instanceof Bad) return { ok: false, error: err.message };
    throw err;
  }
}

function check(body: unknown, model: V2Model): InferCheck {
  if (!isObject(body)) throw new Bad('the inference request must be a JSON object');
  if (body.id !== undefined && typeof body.id !== 'string') throw new Bad('"id" must be a string');
  if (body.parameters !== undefined && !isObject(body.parameters)) throw new Bad('"parameters" must be an object');
  if (!Array.isArray(body.inputs) || body.inputs.length === 0) throw new Bad('"inputs" must be a non-empty array');
  const seen = new Set<string>();
  const inputs = body.inputs.map((raw, i): CheckedInput => {
    if (!isObject(raw)) throw new Bad(`inputs[${i}] must be an object`);
    const { name, shape, datatype, data } = raw;
    if (typeof name !== 'string') throw new Bad(`inputs[${i}].name must be a string`);
    const want = model.inputs.find((t) => t.name === name);
    if (!want) throw new Bad(`unexpected input "${name}" for model "${model.name}"; its inputs are ${JSON.stringify(model.inputs.map((t) => t.name))}`);
    if (seen.has(name)) throw new Bad(`input "${name}" given twice`);
    seen.add(name);
    if (raw.parameters !== undefined && !isObject(raw.parameters)) throw new Bad(`input "${name}": "parameters" must be an object`);
    if (typeof datatype !== 'string' || !DATATYPES.has(datatype)) throw new Bad(`input "${name}": unknown datatype ${JSON.stringify(datatype)}`);
    if (datatype !== want.datatype) throw new Bad(`input "${name}": datatype ${datatype}, the model needs ${want.datatype}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) throw new Bad(`input "${name}": "shape" must be an array of non-negative integers`);
    const dims = shape as number[];
    if (dims.length !== want.shape.length) throw new Bad(`input "${name}": shape ${JSON.stringify(dims)} has rank ${dims.length}, the model needs ${JSON.stringify(want.shape)}`);
    want.shape.forEach((w, k) => {
      if (w !== -1 && dims[k] !== w) throw new Bad(`input "${name}": shape ${JSON.stringify(dims)} does not match the model's ${JSON.stringify(want.shape)} at dim ${k}`);
    });
    if (!Array.isArray(data)) throw new Bad(`input "${name}": "data" must be an array`);
    const values: number[] = [];
    collect(data, dims, name, values);
    const expected = dims.reduce((a, b) => a * b, 1);
    if (values.length !== expected) throw new Bad(`input "${name}": shape ${JSON.stringify(dims)} holds ${expected} elements, "data" has ${values.length}`);
    for (const [k, v] of values.entries()) {
      if (datatype === 'UINT8' && !(Number.isInteger(v) && v >= 0 && v <= 255)) throw new Bad(`input "${name}": data[${k}] = ${v} is not a UINT8`);
    }
    return { name, datatype, shape: dims, values };
  });
  for (const t of model.inputs) if (!seen.has(t.name)) throw new Bad(`missing input "${t.name}" for model "${model.name}"`);
  let outputs: string[] | undefined;
  if (body.outputs !== undefined) {
    if (!Array.isArray(body.outputs)) throw new Bad('"outputs" must be an array');
    outputs = body.outputs.map((o, i) => {
      if (!isObject(o) || typeof o.name !== 'string') throw new Bad(`outputs[${i}] must be an object with a string "name"`);
      if (o.parameters !== undefined && !isObject(o.parameters)) throw new Bad(`outputs[${i}]: "parameters" must be an object`);
      if (!model.outputs.some((t) => t.name === o.name)) throw new Bad(`unknown output "${o.name}" for model "${model.name}"`);
      return o.name;
    });
  }
  return { ok: true, id: body.id as string | undefined, inputs, outputs };
}

/** Flat data: numbers. Nested data: arrays exactly as the shape, numbers at the innermost level. */
function collect(data: unknown[], shape: number[], name: string, into: number[]): void {
  const nested = data.some((v) => Array.isArray(v));
  if (!nested) {
    for (const v of data) {
      if (typeof v !== 'number') throw new Bad(`input "${name}": data element ${JSON.stringify(v)} is not a number`);
      into.push(v);
    }
    return;
  }
  const walk = (node: unknown, depth: number): void => {
    if (depth === shape.length) {
      if (typeof node !== 'number') throw new Bad(`input "${name}": nested data does not match shape ${JSON.stringify(shape)}`);
      into.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) throw new Bad(`input "${name}": nested data does not match shape ${JSON.stringify(shape)}`);
    for (const child of node) walk(child, depth + 1);
  };
  walk(data, 0);
}

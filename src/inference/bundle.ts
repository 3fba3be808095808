import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import ort from 'onnxruntime-node';
import { AvlocError } from '../errors.ts';
import { describeCardIssues, modelCardSchema, windowSamples, type ModelCard } from './model-card.ts';

/**
 * Loads a model bundle (docs/MODEL_CONTRACT.md): reads and validates model.json, opens both graphs and
 * checks them against the card — names, dtypes, ranks and static dims from the session metadata,
 * then one batch-1 probe run per graph whose output shapes must match the card exactly (metadata
 * can leave dims symbolic; the probe cannot). Every rejection is a MODEL_INVALID AvlocError whose
 * message starts with the file it is about and names the field, e.g.
 *   `visual.onnx: output "features" has 64 channels but model.json visual.channels = 512`.
 * A missing or corrupt file is such an error too, never a crash; sessions opened before a
 * rejection are released.
 */
export type OrtSession = ort.InferenceSession;
export type OrtSessionOptions = ort.InferenceSession.SessionOptions;

export interface LoadedBundle {
  readonly dir: string;
  readonly card: ModelCard;
  readonly visual: OrtSession;
  readonly audio: OrtSession;
  /** Things that load but look wrong (e.g. non-finite outputs on a silent probe); for the log. */
  readonly warnings: readonly string[];
}

const CARD = 'model.json';

function invalid(message: string, cause?: unknown): AvlocError {
  return new AvlocError('MODEL_INVALID', message, cause === undefined ? undefined : { cause });
}

/** Reads and validates `<dir>/model.json`. */
export async function readCard(dir: string): Promise<ModelCard> {
  const path = join(dir, CARD);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw invalid(code === 'ENOENT' ? `${CARD}: not found in ${dir}` : `${CARD}: cannot read ${path} (${code ?? String(err)})`, err);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalid(`${CARD}: not valid JSON (${(err as Error).message})`, err);
  }
  const parsed = modelCardSchema.safeParse(json);
  if (!parsed.success) throw invalid(`${CARD}: ${describeCardIssues(parsed.error)}`, parsed.error);
  return parsed.data;
}

/** What one graph must look like, from the card. `null` dims are the dynamic batch. */
interface GraphSpec {
  readonly file: string;
  readonly cardKey: 'visual' | 'audio';
  readonly input: { readonly name: string; readonly type: 'uint8' | 'float32'; readonly dims: readonly (number | null)[]; readonly fields: readonly string[] };
  readonly output: { readonly name: string; readonly dims: readonly (number | null)[]; readonly fields: readonly string[] };
}

function specs(card: ModelCard): [GraphSpec, GraphSpec] {
  const v = card.visual;
  const a = card.audio;
  return [
    {
      file: v.file,
      cardKey: 'visual',
      input: { name: v.input, type: 'uint8', dims: [null, v.height, v.width, 3], fields: ['batch', 'visual.height', 'visual.width', 'RGB channels (3)'] },
      output: { name: v.output, dims: [null, v.channels, v.grid[0], v.grid[1]], fields: ['batch', 'visual.channels', 'visual.grid[0]', 'visual.grid[1]'] },
    },
    {
      file: a.file,
      cardKey: 'audio',
      input: { name: a.input, type: 'float32', dims: [null, windowSamples(card)], fields: ['batch', 'audio.windowSeconds × audio.sampleRate'] },
      output: { name: a.output, dims: [null, a.channels], fields: ['batch', 'audio.channels'] },
    },
  ];
}

/** A dim in words for messages: "64 channels", "grid height 8", "16000 samples". */
function dimWords(field: string, n: number): string {
  switch (field) {
    case 'visual.channels':
    case 'audio.channels':
      return `${n} channels`;
    case 'visual.grid[0]':
      return `grid height ${n}`;
    case 'visual.grid[1]':
      return `grid width ${n}`;
    case 'visual.height':
      return `height ${n}`;
    case 'visual.width':
      return `width ${n}`;
    default:
      return `${n} samples`;
  }
}

/**
 * Opens `<dir>` as a bundle with the given session options (threads, execution providers).
 * Errors from creating a session with a non-CPU execution provider are MODEL_DEVICE_UNAVAILABLE.
 */
export async function loadBundle(dir: string, sessionOptions: OrtSessionOptions = {}): Promise<LoadedBundle> {
  const root = resolve(dir);
  try {
    const s = await stat(root);
    if (!s.isDirectory()) throw invalid(`${root}: not a folder (a bundle is a folder with model.json, visual.onnx, audio.onnx)`);
  } catch (err) {
    if (err instanceof AvlocError) throw err;
    throw invalid(`${root}: bundle folder not found`, err);
  }
  const card = await readCard(root);
  const [vSpec, aSpec] = specs(card);
  const opened: OrtSession[] = [];
  try {
    const visual = await openGraph(root, vSpec, sessionOptions);
    opened.push(visual);
    const audio = await openGraph(root, aSpec, sessionOptions);
    opened.push(audio);
    checkMetadata(visual, vSpec);
    checkMetadata(audio, aSpec);
    const warnings = [...(await probe(visual, vSpec)), ...(await probe(audio, aSpec))];
    return { dir: root, card, visual, audio, warnings };
  } catch (err) {
    await Promise.allSettled(opened.map((s) => s.release()));
    throw err;
  }
}

async function openGraph(root: string, spec: GraphSpec, options: OrtSessionOptions): Promise<OrtSession> {
  const path = join(root, spec.file);
  try {
    await stat(path);
  } catch (err) {
    throw invalid(`${spec.file}: not found in ${root} (model.json ${spec.cardKey}.file)`, err);
  }
  try {
    return await ort.InferenceSession.create(path, options);
  } catch (err) {
    const msg = (err as Error).message ?? String(err);
    if (/ExecutionProvider|CUDA|providers_/i.test(msg)) {
      throw new AvlocError('MODEL_DEVICE_UNAVAILABLE', `${spec.file}: the requested execution provider could not start: ${msg}`, { cause: err });
    }
    throw invalid(`${spec.file}: ONNX Runtime cannot load it: ${msg.replace(/^Load model from .* failed:/, '')}`, err);
  }
}

function checkMetadata(session: OrtSession, spec: GraphSpec): void {
  const f = spec.file;
  const problems: string[] = [];
  const inputs = session.inputMetadata;
  const input = inputs.find((m) => m.name === spec.input.name);
  if (!input) {
    problems.push(`has no input "${spec.input.name}" (model.json ${spec.cardKey}.input); its inputs are ${JSON.stringify(session.inputNames)}`);
  } else if (inputs.length !== 1) {
    problems.push(`has ${inputs.length} inputs ${JSON.stringify(session.inputNames)}; the contract allows exactly one, "${spec.input.name}"`);
  }
  const output = session.outputMetadata.find((m) => m.name === spec.output.name);
  if (!output) {
    problems.push(`has no output "${spec.output.name}" (model.json ${spec.cardKey}.output); its outputs are ${JSON.stringify(session.outputNames)}`);
  }
  const check = (
    kind: 'input' | 'output',
    meta: ort.InferenceSession.ValueMetadata | undefined,
    want: { name: string; dims: readonly (number | null)[]; fields: readonly string[] },
    type: string,
  ): void => {
    if (!meta) return;
    if (!meta.isTensor) {
      problems.push(`${kind} "${want.name}" is not a tensor`);
      return;
    }
    if (meta.type !== type) problems.push(`${kind} "${want.name}" is ${meta.type}, the contract needs ${type}`);
    if (meta.shape.length === 0) return; // unknown shape: the probe decides
    if (meta.shape.length !== want.dims.length) {
      problems.push(`${kind} "${want.name}" has rank ${meta.shape.length} ${JSON.stringify(meta.shape)}, the contract needs rank ${want.dims.length}`);
      return;
    }
    want.dims.forEach((w, i) => {
      const got = meta.shape[i];
      if (typeof got !== 'number' || got < 0) return; // symbolic or unknown
      if (w === null) {
        if (got > 0) problems.push(`${kind} "${want.name}" has a fixed batch dimension ${got}; it must be dynamic`);
      } else if (got !== w && want.fields[i]!.startsWith('RGB')) {
        problems.push(`${kind} "${want.name}" has ${got} colour channels; the contract needs 3 (rgb24, NHWC)`);
      } else if (got !== w) {
        problems.push(`${kind} "${want.name}" has ${dimWords(want.fields[i]!, got)} but model.json ${want.fields[i]} = ${w}`);
      }
    });
  };
  check('input', input, spec.input, spec.input.type);
  check('output', output, spec.output, 'float32');
  if (problems.length > 0) throw invalid(`${f}: ${problems.join('; ')}`);
}

/**
 * One batch-1 run on zeros: the output shape must be [1, ...card dims]. Non-finite values are a
 * warning, not a rejection: an L2 normalisation without epsilon gives NaN on exact silence only.
 */
async function probe(session: OrtSession, spec: GraphSpec): Promise<string[]> {
  const inDims = [1, ...spec.input.dims.slice(1).map((d) => d ?? 1)];
  const n = inDims.reduce((a, b) => a * b, 1);
  const data = spec.input.type === 'uint8' ? new Uint8Array(n) : new Float32Array(n);
  let out: ort.Tensor | undefined;
  try {
    const res = await session.run({ [spec.input.name]: new ort.Tensor(spec.input.type, data, inDims) }, [spec.output.name]);
    out = res[spec.output.name];
  } catch (err) {
    throw invalid(`${spec.file}: a probe run with ${spec.cardKey} input ${JSON.stringify(inDims)} failed: ${(err as Error).message}`, err);
  }
  if (!out) throw invalid(`${spec.file}: a probe run returned no output "${spec.output.name}"`);
  const got = out.dims;
  const want = [1, ...spec.output.dims.slice(1)];
  if (got.length !== want.length) {
    throw invalid(`${spec.file}: output "${spec.output.name}" has rank ${got.length} ${JSON.stringify(got)}, the contract needs ${JSON.stringify(want.map((d, i) => (i === 0 ? 'B' : d)))}`);
  }
  for (let i = 1; i < want.length; i++) {
    if (got[i] !== want[i]) {
      throw invalid(`${spec.file}: output "${spec.output.name}" has ${dimWords(spec.output.fields[i]!, got[i]!)} but model.json ${spec.output.fields[i]} = ${want[i]}`);
    }
  }
  if (got[0] !== 1) throw invalid(`${spec.file}: output "${spec.output.name}" has batch ${got[0]} for an input batch of 1`);
  if (out.type !== 'float32') throw invalid(`${spec.file}: output "${spec.output.name}" is ${out.type}, the contract needs float32`);
  const values = out.data as Float32Array;
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) return [`${spec.file}: output "${spec.output.name}" has non-finite values for an all-zero input`];
  }
  return [];
}

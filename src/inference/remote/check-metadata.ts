import { AvlocError } from '../../errors.ts';
import type { RemoteGraphSpec, RemoteTensorSpec } from './graph-specs.ts';
import { describeIssues, modelMetadataSchema, type TensorMetadata } from './v2-wire.ts';

/**
 * Checks a server's model metadata (GET /v2/models/{name}) against what the card says that graph
 * is: exactly one input, named as the card names it; the card's output among the outputs; data
 * types; shapes of [-1, ...card dims]. A -1 (variable) non-batch dim accepts the card's size and
 * passes; the batch dim must be -1, since the node sends batches of any size up to
 * pipeline.maxBatch. Every problem names the tensor, the field, what was expected and what came:
 *   remote model "m-visual" does not match model.json: output "features" shape[1]
 *   (model.json visual.channels): expected 32, got 64
 * as one MODEL_INVALID error listing all of them.
 */
export function checkModelMetadata(json: unknown, spec: RemoteGraphSpec): void {
  const head = `remote model "${spec.model}" does not match model.json`;
  const parsed = modelMetadataSchema.safeParse(json);
  if (!parsed.success) {
    throw new AvlocError('INFERENCE_REMOTE_FAILED', `remote model "${spec.model}": metadata is not an Open Inference Protocol model metadata object (${describeIssues(parsed.error)})`);
  }
  const meta = parsed.data;
  const problems: string[] = [];
  const input = meta.inputs.find((t) => t.name === spec.input.name);
  if (!input) {
    problems.push(`has no input "${spec.input.name}" (model.json ${spec.input.nameField}); its inputs are ${JSON.stringify(meta.inputs.map((t) => t.name))}`);
  } else if (meta.inputs.length !== 1) {
    problems.push(`has ${meta.inputs.length} inputs ${JSON.stringify(meta.inputs.map((t) => t.name))}; the bundle's graph has exactly one, "${spec.input.name}"`);
  }
  const output = meta.outputs.find((t) => t.name === spec.output.name);
  if (!output) {
    problems.push(`has no output "${spec.output.name}" (model.json ${spec.output.nameField}); its outputs are ${JSON.stringify(meta.outputs.map((t) => t.name))}`);
  }
  if (input) problems.push(...tensorProblems('input', input, spec.input, spec.graph));
  if (output) problems.push(...tensorProblems('output', output, spec.output, spec.graph));
  if (problems.length > 0) throw new AvlocError('MODEL_INVALID', `${head}: ${problems.join('; ')}`);
}

function tensorProblems(kind: 'input' | 'output', got: TensorMetadata, want: RemoteTensorSpec, graph: string): string[] {
  const problems: string[] = [];
  const label = `${kind} "${want.name}"`;
  if (got.datatype !== want.datatype) {
    problems.push(`${label} datatype (model.json ${graph} ${kind}): expected ${want.datatype}, got ${got.datatype}`);
  }
  const expected = [-1, ...want.itemDims];
  if (got.shape.length !== expected.length) {
    problems.push(`${label} shape: expected rank ${expected.length} ${JSON.stringify(expected)}, got rank ${got.shape.length} ${JSON.stringify(got.shape)}`);
    return problems;
  }
  expected.forEach((w, i) => {
    const g = got.shape[i]!;
    if (i === 0) {
      if (g !== -1) problems.push(`${label} shape[0] (batch): expected -1 (a variable batch), got ${g}`);
    } else if (g !== -1 && g !== w) {
      const field = want.fields[i]!;
      problems.push(`${label} shape[${i}] (${field.includes('.') ? `model.json ${field}` : field}): expected ${w}, got ${g}`);
    }
  });
  return problems;
}

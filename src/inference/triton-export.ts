/**
 * `avloc export triton --model DIR --out REPO`: a bundle as a Triton Inference Server model
 * repository — one model per graph (`<name>-visual`, `<name>-audio`), each with `1/model.onnx`
 * and a `config.pbtxt` (ONNX Runtime backend, `max_batch_size`, dynamic batching), input and
 * output names, types and shapes taken from the card (which loadBundle checks against the graphs).
 * The card itself is copied beside each config as `avloc-model.json` (Triton ignores other files).
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AvlocError } from '../errors.ts';
import { readCard } from './bundle.ts';
import type { ModelCard } from './model-card.ts';
import { windowSamples } from './model-card.ts';

export interface TritonExportOptions {
  readonly modelDir: string;
  readonly outDir: string;
  /** Largest batch Triton may form (default 8, pipeline.maxBatch's default). */
  readonly maxBatch?: number;
  /** How long Triton may hold a request to batch it with others, µs (default 5000: pipeline.maxWaitMs). */
  readonly queueDelayUs?: number;
}

interface TensorSpec {
  readonly name: string;
  readonly type: 'TYPE_UINT8' | 'TYPE_FP32';
  /** Without the batch dimension (Triton adds it when max_batch_size > 0). */
  readonly dims: readonly number[];
}

/** One model's config.pbtxt (pure; exported for tests). */
export function configPbtxt(name: string, input: TensorSpec, output: TensorSpec, maxBatch: number, queueDelayUs: number): string {
  const tensor = (t: TensorSpec) => `  {\n    name: "${t.name}"\n    data_type: ${t.type}\n    dims: [ ${t.dims.join(', ')} ]\n  }`;
  return [
    `name: "${name}"`,
    'backend: "onnxruntime"',
    `max_batch_size: ${maxBatch}`,
    `input [\n${tensor(input)}\n]`,
    `output [\n${tensor(output)}\n]`,
    `dynamic_batching {\n  max_queue_delay_microseconds: ${queueDelayUs}\n}`,
    '',
  ].join('\n');
}

/** The two models of a bundle: names and tensors as the card states them. */
export function tritonModels(card: ModelCard): { name: string; file: string; input: TensorSpec; output: TensorSpec }[] {
  const v = card.visual;
  const a = card.audio;
  return [
    {
      name: `${card.name}-visual`,
      file: v.file,
      input: { name: v.input, type: 'TYPE_UINT8', dims: [v.height, v.width, 3] },
      output: { name: v.output, type: 'TYPE_FP32', dims: [v.channels, v.grid[0], v.grid[1]] },
    },
    {
      name: `${card.name}-audio`,
      file: a.file,
      input: { name: a.input, type: 'TYPE_FP32', dims: [windowSamples(card)] },
      output: { name: a.output, type: 'TYPE_FP32', dims: [a.channels] },
    },
  ];
}

/** Writes the repository; returns the model names written. */
export async function exportTriton(opts: TritonExportOptions): Promise<string[]> {
  const maxBatch = opts.maxBatch ?? 8;
  const delay = opts.queueDelayUs ?? 5000;
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new AvlocError('CONFIG_INVALID', `--max-batch must be a positive integer, got ${maxBatch}`);
  if (!Number.isInteger(delay) || delay < 0) throw new AvlocError('CONFIG_INVALID', `--queue-delay-us must be a non-negative integer, got ${delay}`);
  const card = await readCard(opts.modelDir);
  const names: string[] = [];
  for (const m of tritonModels(card)) {
    const dir = join(opts.outDir, m.name);
    await mkdir(join(dir, '1'), { recursive: true });
    await copyFile(join(opts.modelDir, m.file), join(dir, '1', 'model.onnx'));
    await writeFile(join(dir, 'config.pbtxt'), configPbtxt(m.name, m.input, m.output, maxBatch, delay));
    await copyFile(join(opts.modelDir, 'model.json'), join(dir, 'avloc-model.json'));
    names.push(m.name);
  }
  return names;
}

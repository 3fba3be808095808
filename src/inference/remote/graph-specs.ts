import type { ModelCard } from '../model-card.ts';
import { tritonModels } from '../triton-export.ts';

/**
 * What each remote model must look like, from the bundle's card — the same names, data types and
 * shapes `avloc export triton` writes into config.pbtxt (tritonModels), so a repository exported
 * from a bundle matches that bundle by construction. Shapes are per item, without the batch.
 */
export type RemoteGraph = 'visual' | 'audio';
export type V2Datatype = 'UINT8' | 'FP32';

export interface RemoteTensorSpec {
  readonly name: string;
  readonly datatype: V2Datatype;
  /** Dims after the batch dim. */
  readonly itemDims: readonly number[];
  /** The card field behind each dim, batch first, for messages. */
  readonly fields: readonly string[];
  /** The card field that names this tensor, e.g. `visual.input`. */
  readonly nameField: string;
}

export interface RemoteGraphSpec {
  readonly graph: RemoteGraph;
  /** Model name on the server. */
  readonly model: string;
  readonly input: RemoteTensorSpec;
  readonly output: RemoteTensorSpec;
}

export interface RemoteModelNames {
  readonly visualModel?: string | undefined;
  readonly audioModel?: string | undefined;
}

const DATATYPE = { TYPE_UINT8: 'UINT8', TYPE_FP32: 'FP32' } as const;

export function remoteGraphSpecs(card: ModelCard, names: RemoteModelNames = {}): Record<RemoteGraph, RemoteGraphSpec> {
  const [v, a] = tritonModels(card);
  if (!v || !a) throw new Error('tritonModels returned fewer than two models');
  return {
    visual: {
      graph: 'visual',
      model: names.visualModel ?? v.name,
      input: {
        name: v.input.name,
        datatype: DATATYPE[v.input.type],
        itemDims: v.input.dims,
        fields: ['batch', 'visual.height', 'visual.width', 'RGB channels (3)'],
        nameField: 'visual.input',
      },
      output: {
        name: v.output.name,
        datatype: DATATYPE[v.output.type],
        itemDims: v.output.dims,
        fields: ['batch', 'visual.channels', 'visual.grid[0]', 'visual.grid[1]'],
        nameField: 'visual.output',
      },
    },
    audio: {
      graph: 'audio',
      model: names.audioModel ?? a.name,
      input: {
        name: a.input.name,
        datatype: DATATYPE[a.input.type],
        itemDims: a.input.dims,
        fields: ['batch', 'audio.windowSeconds × audio.sampleRate'],
        nameField: 'audio.input',
      },
      output: {
        name: a.output.name,
        datatype: DATATYPE[a.output.type],
        itemDims: a.output.dims,
        fields: ['batch', 'audio.channels'],
        nameField: 'audio.output',
      },
    },
  };
}

/** Elements in one item of a tensor. */
export function itemSize(t: RemoteTensorSpec): number {
  return t.itemDims.reduce((x, y) => x * y, 1);
}

/**
 * Longest JSON response accepted for a batch: the envelope, plus per output value the longest
 * text a float32 takes as a JSON number (`-1.2345678901234567e-38`, 24 characters) with its
 * separator, rounded up to 32. Anything longer is refused before it is parsed.
 */
export const ENVELOPE_BYTES = 16 * 1024;
export const BYTES_PER_VALUE = 32;

export function responseByteBudget(spec: RemoteGraphSpec, batch: number): number {
  return ENVELOPE_BYTES + batch * itemSize(spec.output) * BYTES_PER_VALUE;
}

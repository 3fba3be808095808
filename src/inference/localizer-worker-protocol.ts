import type { ErrorCode } from '../errors.ts';
import type { LocalizerDevice, LocalizerOptions } from './localizer.ts';
import type { ModelCard } from './model-card.ts';
import type { ThreadChoice } from './thread-choice.ts';

/**
 * The messages between WorkerLocalizer (main thread) and localizer-worker.ts (its worker
 * thread). Inputs and outputs travel as one transferred ArrayBuffer per batch, so a call costs
 * one copy on each side and no structured clone of per-item arrays.
 */
export type Graph = 'visual' | 'audio';

export interface WorkerInit {
  readonly dir: string;
  readonly opts: LocalizerOptions;
  /** Measure the intra-op thread count (thread-choice.ts) instead of taking opts.intraOpNumThreads. */
  readonly chooseThreads?: boolean;
}

/** An AvlocError flattened for postMessage (class identity does not survive the clone). */
export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
}

export type ToWorker =
  | { readonly type: 'embed'; readonly id: number; readonly graph: Graph; readonly count: number; readonly data: ArrayBuffer }
  | { readonly type: 'close' }
  /** Test hook: the worker exits at once, as a crash would. */
  | { readonly type: 'crash' };

export type FromWorker =
  | { readonly type: 'ready'; readonly card: ModelCard; readonly device: LocalizerDevice; readonly warnings: readonly string[]; readonly threadChoice: ThreadChoice | null }
  | { readonly type: 'open-failed'; readonly error: WireError }
  | { readonly type: 'result'; readonly id: number; readonly count: number; readonly data: ArrayBuffer }
  | { readonly type: 'failed'; readonly id: number; readonly error: WireError };

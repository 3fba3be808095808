import type { BenchOptions } from '../args.ts';
import type { MachineInfo } from '../machine.ts';
import type { CeilingResult } from '../parts/ceiling.ts';
import type { FairRunResult } from '../parts/fair-run.ts';
import type { RegimeResult } from '../parts/regime.ts';
import type { NaiveResult } from '../parts/naive.ts';
import type { StepResult } from '../parts/saturation.ts';
import type { SoakResult } from '../parts/soak.ts';

/** Everything one bench run measured; written as JSON and rendered as Markdown and SVG. */
export interface BenchReport {
  readonly command: string;
  readonly startedAt: string;
  finishedAt: string;
  wallS: number;
  readonly options: BenchOptions;
  readonly machine: MachineInfo;
  readonly loadAtStart: string;
  loadAtEnd: string;
  readonly model: { readonly dir: string; readonly name: string; readonly why: string };
  /** The ORT session settings the service uses (and the ceiling used). */
  readonly sessions: string;
  /** The service's configuration in words (what differs from its defaults). */
  readonly service?: string;
  /** Frames per second of the synthetic streams. */
  readonly fps: number;
  ceiling?: CeilingResult;
  saturation?: StepResult[];
  /** Per N: decode-only, model-only, fair ceiling = their minimum, delivered and delivered / fair. */
  fair?: FairRunResult;
  /** The same three parts with the heavy regime's model (the full-size AVIN-RN by default). */
  heavy?: RegimeResult;
  soak?: SoakResult;
  naive?: NaiveResult;
  targets: TargetCheck[];
  readonly notes: string[];
}

export interface TargetCheck {
  readonly target: string;
  /** null: could not be judged in this run (part skipped or no data). */
  readonly met: boolean | null;
  readonly figures: string;
}

import { Observable, asyncScheduler, from, type ObservableInput, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { AvlocError } from '../errors.ts';
import { StreamCounterRegistry } from './counters.ts';
import type { FrameJob } from './types.ts';
import { WakeTimer } from './wake-timer.ts';

/**
 * Decides which jobs go to inference, and when. This is where "latency stays bounded" is kept:
 *
 *  - One SLOT per live stream, holding only that stream's newest job. A newer job replaces the
 *    waiting one, which is counted `skipped`. So waiting work is at most one job per stream,
 *    whatever the model's speed — jobs never queue behind each other.
 *  - MICRO-BATCHES across streams: when the runner has room, the waiting slots go out together
 *    (oldest first, at most maxBatchSize) as soon as the batch is full — every live stream has a
 *    job, or maxBatchSize do — or maxWaitMs after the oldest slot filled, whichever comes first.
 *    (The wait is measured from when the slot filled, not reset by replacements, so a busy
 *    stream cannot postpone its own dispatch forever.)
 *  - While the runner is busy (maxInFlight batches out, default 1), jobs wait in their slots.
 *  - A DEADLINE: a job that has waited deadlineMs since it entered is dropped as stale (`dropped`).
 *    A batch whose runner fails counts its jobs as `dropped` too; the service goes on.
 *  - A stream that ends loses its slot, its counters and any owed refresh (docs/ARCHITECTURE.md, rule 5).
 *
 * Bounds: slots ≤ live streams; in flight ≤ maxInFlight × maxBatchSize jobs; one timer.
 * An audio refresh (FrameJob.refreshAudio) is never lost: a replacing job inherits it, and a
 * dropped job passes it to its stream's next job.
 *
 * SchedulerCore is the pure core (`process(event, now) → batches to dispatch`); `scheduleBatches`
 * is the RxJS operator that feeds it, runs the batches and keeps its one timer.
 */
export interface SchedulerOptions {
  /** Most jobs in one inference batch (pipeline.maxBatch: the schema holds the default). */
  readonly maxBatchSize: number;
  /** Longest the oldest waiting job waits for others to join its batch, ms (pipeline.maxWaitMs). */
  readonly maxWaitMs: number;
  /** A job still waiting this long after it entered is dropped as stale, ms (pipeline.deadlineMs). */
  readonly deadlineMs: number;
  /** Batches the runner may have in flight at once. Default 1. */
  readonly maxInFlight?: number;
}

export type SchedulerInput =
  | { readonly type: 'job'; readonly job: FrameJob }
  /** The stream ended: free its slot and counters. */
  | { readonly type: 'end'; readonly streamId: string };

export type SchedulerEvent =
  | SchedulerInput
  /** A dispatched batch finished (ok: its results were delivered). */
  | { readonly type: 'done'; readonly batchId: number; readonly ok: boolean }
  /** Time passed (the timer from nextWakeAtMs fired). */
  | { readonly type: 'tick' };

export interface Batch {
  readonly id: number;
  readonly jobs: readonly FrameJob[];
  readonly dispatchedAtMs: number;
}

interface Slot {
  readonly job: FrameJob;
  /** When this job entered (deadline clock). */
  readonly enqueuedAtMs: number;
  /** When the slot went from empty to full (batch-wait clock); kept across replacements. */
  readonly occupiedSinceMs: number;
}

export class SchedulerCore {
  readonly maxBatchSize: number;
  readonly maxWaitMs: number;
  readonly deadlineMs: number;
  readonly maxInFlight: number;
  readonly counters: StreamCounterRegistry;
  private readonly slots = new Map<string, Slot>();
  private readonly live = new Set<string>();
  private readonly owedRefresh = new Set<string>();
  private readonly inFlight = new Map<number, Batch>();
  private nextBatchId = 1;
  private flushing = false;

  constructor(opts: SchedulerOptions, counters = new StreamCounterRegistry()) {
    this.maxBatchSize = opts.maxBatchSize;
    this.maxWaitMs = opts.maxWaitMs;
    this.deadlineMs = opts.deadlineMs;
    this.maxInFlight = opts.maxInFlight ?? 1;
    this.counters = counters;
    const intOk = (n: number) => Number.isInteger(n) && n >= 1;
    if (!intOk(this.maxBatchSize) || !intOk(this.maxInFlight) || !(this.maxWaitMs >= 0) || !(this.deadlineMs > this.maxWaitMs)) {
      throw new AvlocError(
        'CONFIG_INVALID',
        `scheduler: need maxBatchSize ≥ 1, maxInFlight ≥ 1, 0 ≤ maxWaitMs < deadlineMs (got ${this.maxBatchSize}, ${this.maxInFlight}, ${this.maxWaitMs}, ${this.deadlineMs})`,
      );
    }
  }

  process(ev: SchedulerEvent, now: number): Batch[] {
    switch (ev.type) {
      case 'job':
        this.offer(ev.job, now);
        break;
      case 'end':
        this.end(ev.streamId);
        break;
      case 'done':
        this.done(ev.batchId, ev.ok);
        break;
      case 'tick':
        break;
    }
    return this.pump(now);
  }

  /** No more jobs will come: stop waiting for batches to fill; dispatch what waits as the runner allows. */
  flush(now: number): Batch[] {
    this.flushing = true;
    return this.pump(now);
  }

  /** When `process({type:'tick'})` next has something to do (a wait ends, a deadline passes). */
  nextWakeAtMs(): number | undefined {
    let at: number | undefined;
    const canDispatch = this.inFlight.size < this.maxInFlight;
    for (const s of this.slots.values()) {
      let t = s.enqueuedAtMs + this.deadlineMs;
      if (canDispatch) t = Math.min(t, s.occupiedSinceMs + this.maxWaitMs);
      if (at === undefined || t < at) at = t;
    }
    return at;
  }

  get waiting(): number {
    return this.slots.size;
  }

  get batchesInFlight(): number {
    return this.inFlight.size;
  }

  get liveStreams(): number {
    return this.live.size;
  }

  /** Nothing waits and nothing is in flight. */
  get idle(): boolean {
    return this.slots.size === 0 && this.inFlight.size === 0;
  }

  private offer(job: FrameJob, now: number): void {
    const id = job.window.frame.streamId;
    this.live.add(id);
    this.counters.open(id);
    const old = this.slots.get(id);
    let refresh = job.refreshAudio;
    if (old) {
      this.counters.bump(id, 'skipped');
      refresh ||= old.job.refreshAudio;
    }
    if (this.owedRefresh.delete(id)) refresh = true;
    this.slots.set(id, {
      job: refresh === job.refreshAudio ? job : { ...job, refreshAudio: refresh },
      enqueuedAtMs: now,
      occupiedSinceMs: old ? old.occupiedSinceMs : now,
    });
  }

  private end(id: string): void {
    this.slots.delete(id);
    this.live.delete(id);
    this.owedRefresh.delete(id);
    this.counters.delete(id);
  }

  private done(batchId: number, ok: boolean): void {
    const b = this.inFlight.get(batchId);
    if (!b) return;
    this.inFlight.delete(batchId);
    for (const j of b.jobs) this.counters.bump(j.window.frame.streamId, ok ? 'analyzed' : 'dropped');
  }

  private pump(now: number): Batch[] {
    for (const [id, s] of this.slots) {
      if (now - s.enqueuedAtMs >= this.deadlineMs) {
        this.slots.delete(id);
        this.counters.bump(id, 'dropped');
        if (s.job.refreshAudio) this.owedRefresh.add(id);
      }
    }
    const out: Batch[] = [];
    while (this.inFlight.size < this.maxInFlight && this.slots.size > 0) {
      const ordered = [...this.slots.entries()].sort((a, b) => a[1].occupiedSinceMs - b[1].occupiedSinceMs);
      const oldest = ordered[0]![1];
      const full = this.slots.size >= Math.min(this.maxBatchSize, this.live.size);
      if (!full && !this.flushing && now < oldest.occupiedSinceMs + this.maxWaitMs) break;
      const take = ordered.slice(0, this.maxBatchSize);
      for (const [id] of take) this.slots.delete(id);
      const batch: Batch = { id: this.nextBatchId++, jobs: take.map(([, s]) => s.job), dispatchedAtMs: now };
      this.inFlight.set(batch.id, batch);
      out.push(batch);
    }
    return out;
  }
}

export interface ScheduleBatchesOptions extends SchedulerOptions {
  /** Where skipped / dropped / analyzed are counted (shared with av-sync and publish/). */
  readonly counters?: StreamCounterRegistry;
  /** Clock and timers (virtual in marble tests). Default asyncScheduler. */
  readonly scheduler?: SchedulerLike;
  /** A batch's runner failed; its jobs were counted dropped. Default: ignore. */
  readonly onBatchError?: (err: unknown, batch: Batch) => void;
  /** Receives the core, e.g. for gauges (waiting, batchesInFlight). */
  readonly onCore?: (core: SchedulerCore) => void;
}

/**
 * Jobs (and stream ends) in; whatever the runner returns for each batch out, one value at a time.
 * On completion of the source, waiting jobs are flushed and the output completes once every batch
 * in flight has finished. Unsubscribing cancels the timer and the batches in flight.
 */
export function scheduleBatches<R>(
  run: (jobs: readonly FrameJob[], batch: Batch) => ObservableInput<readonly R[]>,
  opts: ScheduleBatchesOptions,
): OperatorFunction<SchedulerInput, R> {
  const sched = opts.scheduler ?? asyncScheduler;
  return (source) =>
    new Observable<R>((subscriber) => {
      const core = new SchedulerCore(opts, opts.counters);
      opts.onCore?.(core);
      const running = new Map<number, Subscription>();
      const timer = new WakeTimer(sched, () => step({ type: 'tick' }));
      let sourceDone = false;
      // Trampoline: a runner that finishes synchronously must not re-enter the dispatch loop.
      const toStart: Batch[] = [];
      let draining = false;

      const step = (ev: SchedulerEvent | 'flush'): void => {
        const now = sched.now();
        toStart.push(...(ev === 'flush' ? core.flush(now) : core.process(ev, now)));
        if (draining) return;
        draining = true;
        while (toStart.length > 0) start(toStart.shift()!);
        draining = false;
        if (subscriber.closed) return;
        if (sourceDone && core.idle) {
          subscriber.complete();
          return;
        }
        timer.arm(core.nextWakeAtMs());
      };

      const start = (batch: Batch): void => {
        let finished = false;
        const finish = (ok: boolean): void => {
          if (finished) return;
          finished = true;
          running.delete(batch.id);
          step({ type: 'done', batchId: batch.id, ok });
        };
        let input: ObservableInput<readonly R[]>;
        try {
          input = run(batch.jobs, batch);
        } catch (err) {
          opts.onBatchError?.(err, batch);
          finish(false);
          return;
        }
        const sub = from(input).subscribe({
          next: (results) => {
            for (const r of results) subscriber.next(r);
          },
          error: (err) => {
            opts.onBatchError?.(err, batch);
            finish(false);
          },
          complete: () => finish(true),
        });
        if (!finished) running.set(batch.id, sub);
      };

      const sub = source.subscribe({
        next: (input) => step(input),
        error: (err) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          step('flush');
        },
      });
      return () => {
        sub.unsubscribe();
        timer.cancel();
        for (const s of running.values()) s.unsubscribe();
        running.clear();
      };
    });
}

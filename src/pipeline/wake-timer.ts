import type { SchedulerLike, Subscription } from 'rxjs';

/**
 * One re-armable timer for a pure core that says when it next needs waking (`nextWakeAtMs`):
 * av-sync's wait for audio and the scheduler's batch wait / deadline both use it. `arm(at)`
 * keeps the timer when `at` is unchanged, replaces it otherwise, and clears it for undefined.
 */
export class WakeTimer {
  private timer: Subscription | undefined;
  private timerAt: number | undefined;

  constructor(
    private readonly sched: SchedulerLike,
    private readonly onWake: () => void,
  ) {}

  arm(at: number | undefined): void {
    if (at === this.timerAt) return;
    this.cancel();
    this.timerAt = at;
    if (at === undefined) return;
    this.timer = this.sched.schedule(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.onWake();
    }, Math.max(0, at - this.sched.now()));
  }

  cancel(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.timerAt = undefined;
  }
}

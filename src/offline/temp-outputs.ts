import { randomBytes } from 'node:crypto';
import { renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Output files that appear whole or not at all: each is written under a hidden temporary name in
 * its target folder (same filesystem, so the final rename is atomic) and renamed at the end;
 * `discard` deletes them. Both are synchronous so a signal handler can call them.
 */
export class TempOutputs {
  private readonly entries: Array<{ temp: string; final: string }> = [];
  private settled = false;

  /** A temporary path next to `finalPath`, e.g. `dir/.overlay.mp4.avloc-1234-9f3a.part`. */
  reserve(finalPath: string): string {
    const final = resolve(finalPath);
    const temp = join(dirname(final), `.${basename(final)}.avloc-${process.pid}-${randomBytes(3).toString('hex')}.part`);
    this.entries.push({ temp, final });
    return temp;
  }

  /** Renames every temporary file to its final name. */
  commit(): void {
    if (this.settled) return;
    this.settled = true;
    for (const e of this.entries) renameSync(e.temp, e.final);
  }

  /** Deletes whatever was written. Idempotent; a no-op after commit. */
  discard(): void {
    if (this.settled) return;
    this.settled = true;
    for (const e of this.entries) rmSync(e.temp, { force: true });
  }
}

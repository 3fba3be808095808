import type { EncodedHeatmap } from '../wire/protocol.ts';

/** One message waiting for a client's socket to drain. */
export type QueueEntry =
  | { readonly kind: 'heatmap'; readonly streamId: string; readonly captureAtMs: number; readonly doneAtMs: number; readonly encoded: EncodedHeatmap }
  | { readonly kind: 'control'; readonly text: string };

export type PushOutcome =
  | { readonly ok: true; readonly dropped?: QueueEntry & { kind: 'heatmap' } }
  /** The control bound was hit: the caller disconnects the client (control messages are never dropped). */
  | { readonly ok: false };

/**
 * A slow client's backlog, as a pure data structure.
 *
 * Drop policy "drop-oldest-heatmap": at most `heatmapLimit` heatmaps wait; a new one pushes out
 * the oldest, because a viewer wants the newest picture, not a late one. Control messages
 * (stream.started/ended/info/error, pong, error) are never dropped — they change what the client
 * believes about the world — so they have their own bound, `controlLimit`, and overflowing it
 * means the client is hopelessly behind and is disconnected ("disconnect-on-control-overflow").
 * Order between all messages is kept.
 */
export class ClientQueue {
  private entries: QueueEntry[] = [];
  private heatmaps = 0;
  private controls = 0;
  private bytes = 0;

  constructor(
    readonly heatmapLimit: number,
    readonly controlLimit: number,
  ) {
    if (heatmapLimit < 1 || controlLimit < 1) throw new Error('queue limits must be >= 1');
  }

  get length(): number {
    return this.entries.length;
  }

  get heatmapCount(): number {
    return this.heatmaps;
  }

  get controlCount(): number {
    return this.controls;
  }

  /** Bytes referenced by queued messages (shared heatmap bytes count once per queue). */
  get byteLength(): number {
    return this.bytes;
  }

  push(e: QueueEntry): PushOutcome {
    if (e.kind === 'control') {
      if (this.controls >= this.controlLimit) return { ok: false };
      this.controls++;
      this.bytes += e.text.length;
      this.entries.push(e);
      return { ok: true };
    }
    this.entries.push(e);
    this.heatmaps++;
    this.bytes += e.encoded.byteLength;
    if (this.heatmaps <= this.heatmapLimit) return { ok: true };
    const i = this.entries.findIndex((x) => x.kind === 'heatmap');
    const [old] = this.entries.splice(i, 1);
    if (!old || old.kind !== 'heatmap') return { ok: true }; // unreachable: a heatmap was just pushed
    this.heatmaps--;
    this.bytes -= old.encoded.byteLength;
    return { ok: true, dropped: old };
  }

  shift(): QueueEntry | undefined {
    const e = this.entries.shift();
    if (!e) return undefined;
    if (e.kind === 'heatmap') {
      this.heatmaps--;
      this.bytes -= e.encoded.byteLength;
    } else {
      this.controls--;
      this.bytes -= e.text.length;
    }
    return e;
  }

  clear(): void {
    this.entries = [];
    this.heatmaps = 0;
    this.controls = 0;
    this.bytes = 0;
  }
}

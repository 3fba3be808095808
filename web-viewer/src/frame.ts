/**
 * What the viewer draws for one analyzed frame. The drawing code depends on this small shape only;
 * `adapt.ts` fills it from the typed client's heatmap event, so a protocol change touches one file.
 */
export interface ViewerFrame {
  readonly streamId: string;
  readonly frame: number;
  readonly ptsMs: number;
  /** Wall-clock capture estimate (epoch ms), comparable with this page's clock on the same host / NTP. */
  readonly captureAtMs: number;
  readonly sentAtMs: number;
  /** When this page received the message (epoch ms). */
  readonly receivedAtMs: number;
  /** The server's per-stage times in ms (decode, wait, inference, ...), shown as they come. */
  readonly timings: Readonly<Record<string, number>>;
  readonly grid: { readonly h: number; readonly w: number; readonly values: ArrayLike<number> };
  readonly peak: { readonly x: number; readonly y: number; readonly u: number; readonly v: number; readonly value: number };
  /** P(something in view is sounding) from the model's calibration, or null when it has none. */
  readonly sounding: number | null;
  /** skipped/dropped: the server's pipeline counters; queueDropped: messages dropped for this client. */
  readonly counters: { readonly skipped: number; readonly dropped: number; readonly queueDropped?: number };
  readonly hasAudio: boolean;
  /** JPEG of the same frame, when previews were asked for and are enabled on the server. */
  readonly preview?: Uint8Array | undefined;
}

/** Wall-clock ms with sub-ms precision, on the same epoch basis as the server's `nowMs()`. */
export function pageNowMs(): number {
  return performance.timeOrigin + performance.now();
}

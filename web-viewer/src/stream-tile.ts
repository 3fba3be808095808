import { LatestSlot } from './latest-slot.ts';
import { OverlayPainter } from './overlay-painter.ts';
import { RateMeter } from './rate-meter.ts';
import { pageNowMs } from './frame.ts';
import type { ViewerFrame } from './frame.ts';
import type { OverlaySettings } from './overlay-settings.ts';

/** Canvas size before the first preview arrives (and for streams without previews). */
const DEFAULT_W = 640;
const DEFAULT_H = 360;
/** The stats text changes every frame; rewriting the DOM a few times a second is enough to read it. */
const STATS_EVERY_MS = 250;

interface Ready {
  readonly frame: ViewerFrame;
  readonly picture: ImageBitmap | undefined;
}

/**
 * One stream's player: a canvas with the latest analyzed frame and its overlay, and a stats line.
 * Frames go through a one-slot mailbox → one JPEG decode at a time → one "ready" frame that the
 * animation loop paints. At most three frames are alive per stream, however fast they arrive.
 */
export class StreamTile {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly stats: HTMLElement;
  private readonly noAudio: HTMLElement;
  private readonly endedBadge: HTMLElement;
  private readonly painter = new OverlayPainter();
  private readonly inbox = new LatestSlot<ViewerFrame>();
  private readonly received = new RateMeter();
  private readonly painted = new RateMeter();
  private ready: Ready | undefined;
  private decoding = false;
  private dirty = false;
  private disposed = false;
  private drawnCount = 0;
  private statsAtMs = 0;
  /** Decoded frames replaced before the paint loop got to them. */
  private unpainted = 0;

  /**
   * @param clockOffsetMs (server clock − page clock), so latencies stay right when the viewer runs
   *   on another machine than the server (see clock-offset.ts).
   */
  constructor(
    readonly streamId: string,
    private readonly clockOffsetMs: () => number = () => 0,
  ) {
    this.element = el('article', 'tile');
    this.element.dataset['stream'] = streamId;
    this.element.dataset['drawn'] = '0';
    const head = el('header', 'tile-head');
    const name = el('span', 'tile-name');
    name.textContent = streamId;
    this.noAudio = el('span', 'badge badge-warn');
    this.noAudio.textContent = 'no audio';
    this.noAudio.hidden = true;
    this.endedBadge = el('span', 'badge badge-off');
    this.endedBadge.textContent = 'ended';
    this.endedBadge.hidden = true;
    head.append(name, this.noAudio, this.endedBadge);
    this.canvas = document.createElement('canvas');
    this.canvas.width = DEFAULT_W;
    this.canvas.height = DEFAULT_H;
    const ctx = this.canvas.getContext('2d');
    if (!ctx) throw new Error('2d canvas context unavailable');
    this.ctx = ctx;
    this.ctx.fillStyle = '#111';
    this.ctx.fillRect(0, 0, DEFAULT_W, DEFAULT_H);
    this.stats = el('div', 'tile-stats');
    this.stats.textContent = 'waiting for the first analyzed frame…';
    this.element.append(head, this.canvas, this.stats);
  }

  /** A new analyzed frame arrived: keep it if nothing newer does before we get to it. */
  push(frame: ViewerFrame): void {
    if (this.disposed) return;
    this.received.tick(frame.receivedAtMs);
    this.inbox.put(frame);
    this.endedBadge.hidden = true;
    // A hidden tab paints nothing, so it need not decode either: the newest frame waits in the
    // inbox and draw() starts its decode when the tab is visible again.
    if (document.visibilityState === 'visible') void this.pump();
  }

  /** Settings changed: repaint the current frame on the next animation frame. */
  invalidate(): void {
    if (this.ready) this.dirty = true;
  }

  setEnded(ended: boolean): void {
    this.endedBadge.hidden = !ended;
  }

  /** Called from requestAnimationFrame; paints only when something changed. */
  draw(settings: OverlaySettings): void {
    if (this.inbox.pending && !this.decoding) void this.pump();
    const r = this.ready;
    if (!r || this.disposed) return;
    if (!this.dirty) {
      // Nothing new to paint, but a stalled stream's fps and latency should visibly decay.
      const now = pageNowMs();
      if (now - this.statsAtMs >= 1000) {
        this.statsAtMs = now;
        this.renderStats(r.frame, now);
      }
      return;
    }
    this.dirty = false;
    if (r.picture && (this.canvas.width !== r.picture.width || this.canvas.height !== r.picture.height)) {
      this.canvas.width = r.picture.width;
      this.canvas.height = r.picture.height;
    }
    this.painter.paint(this.ctx, r.frame, r.picture, settings);
    const now = pageNowMs();
    this.painted.tick(now);
    this.drawnCount++;
    this.element.dataset['drawn'] = String(this.drawnCount);
    this.element.dataset['frame'] = String(r.frame.frame);
    if (now - this.statsAtMs >= STATS_EVERY_MS) {
      this.statsAtMs = now;
      this.renderStats(r.frame, now);
    }
  }

  dispose(): void {
    this.disposed = true;
    this.ready?.picture?.close();
    this.ready = undefined;
    this.inbox.take();
    this.element.remove();
  }

  /** Decode the newest waiting JPEG, one at a time; frames that arrive meanwhile replace each other. */
  private async pump(): Promise<void> {
    if (this.decoding) return;
    this.decoding = true;
    try {
      for (let f = this.inbox.take(); f && !this.disposed; f = this.inbox.take()) {
        // The server caps previews per second (preview.maxFps): a heatmap without one is drawn
        // over the last picture, which is at most one preview period old.
        const fresh = f.preview && f.preview.length > 0 ? await decodeJpeg(f.preview) : undefined;
        if (this.disposed) {
          fresh?.close();
          return;
        }
        // The previous ready frame may never have been painted (slow paint loop): count it.
        if (this.ready && this.dirty) this.unpainted++;
        const picture = fresh ?? this.ready?.picture;
        if (fresh) this.ready?.picture?.close();
        this.ready = { frame: f, picture };
        this.dirty = true;
      }
    } finally {
      this.decoding = false;
    }
  }

  private renderStats(f: ViewerFrame, now: number): void {
    this.noAudio.hidden = f.hasAudio;
    const stages = Object.entries(f.timings)
      .filter(([, v]) => Number.isFinite(v))
      .map(([k, v]) => `${k.replace(/Ms$/, '')} ${v.toFixed(0)}`)
      .join(' · ');
    const offset = this.clockOffsetMs();
    const e2e = now + offset - f.captureAtMs;
    const net = f.receivedAtMs + offset - f.sentAtMs;
    this.stats.replaceChildren(
      stat('latency', `${e2e.toFixed(0)} ms`, 'now − capture time of the frame on screen'),
      stat('stages', `${stages} · net ${net.toFixed(0)} ms`, "server's per-stage times, and send → receive"),
      stat('fps', `${this.received.rate(now).toFixed(1)} analyzed / ${this.painted.rate(now).toFixed(1)} drawn`, ''),
      stat('skipped', String(f.counters.skipped), 'frames the server skipped because inference was busy'),
      stat(
        'dropped',
        `${f.counters.dropped} stale · ${f.counters.queueDropped ?? 0} queue · ${this.inbox.replaced + this.unpainted} page`,
        'frames the server dropped past their deadline · messages dropped because this client was slow · frames this page replaced before painting them',
      ),
      stat('peak', `${f.peak.value.toFixed(3)} @ (${f.peak.x},${f.peak.y})`, 'highest cosine similarity and its grid cell'),
      stat(
        'sounding',
        f.sounding === null ? 'n/a' : f.sounding >= 0.5 ? `yes ${(f.sounding * 100).toFixed(0)} %` : `nothing sounding (${(f.sounding * 100).toFixed(0)} %)`,
        'P(something in view is sounding), calibrated by the model; the default scale dims the map by it',
      ),
    );
  }
}

async function decodeJpeg(bytes: Uint8Array | undefined): Promise<ImageBitmap | undefined> {
  if (!bytes || bytes.length === 0) return undefined;
  try {
    // Blob wants an ArrayBuffer-backed view; the client's bytes may be a view into a larger message.
    return await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/jpeg' }));
  } catch {
    return undefined; // A corrupt preview should not stop the overlay: it is drawn over the last picture.
  }
}

function el(tag: string, className: string): HTMLElement {
  const e = document.createElement(tag);
  e.className = className;
  return e;
}

function stat(label: string, value: string, title: string): HTMLElement {
  const s = el('span', 'stat');
  if (title) s.title = title;
  const l = el('span', 'stat-label');
  l.textContent = label;
  const v = el('span', 'stat-value');
  v.textContent = value;
  v.dataset['stat'] = label;
  s.append(l, v);
  return s;
}

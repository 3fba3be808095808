import type { AvlocClient } from '../../src/wire/client.ts';
import type { StreamSummary } from '../../src/wire/protocol.ts';
import { toViewerFrame } from './adapt.ts';
import { ClockOffset } from './clock-offset.ts';
import { ConnectionBadge } from './connection-badge.ts';
import { pageNowMs } from './frame.ts';
import type { OverlaySettings } from './overlay-settings.ts';
import { StreamList } from './stream-list.ts';
import type { StreamEntry } from './stream-list.ts';
import { StreamTile } from './stream-tile.ts';

/** An ended stream's last frame stays on screen this long (it may come back under the same id). */
const ENDED_TILE_MS = 30_000;
/** How often to measure the server's clock against ours. */
const CLOCK_PING_MS = 5000;

/** The list's detail for a stream: its kind, and in cluster mode the node running it. */
function where(s: { readonly kind: string; readonly node?: string | undefined }): string {
  return s.node ? `${s.kind} · ${s.node}` : s.kind;
}

export interface ViewerDom {
  readonly tiles: HTMLElement;
  readonly list: HTMLElement;
  readonly connection: HTMLElement;
}

/**
 * Keeps the stream list, the tiles and the subscription in step with what the server says:
 * REST `GET /api/streams` on load and now and then, the socket's stream events, and heatmaps.
 * The socket (and its reconnects) belong to AvlocClient; this only reacts to its events.
 */
export class ViewerApp {
  private readonly tiles = new Map<string, StreamTile>();
  private readonly endTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly list: StreamList;
  private readonly badge: ConnectionBadge;
  private client: AvlocClient | undefined;
  private readonly clock = new ClockOffset();
  /** Pings in flight by id → when sent; bounded, since a pong can be lost with its socket. */
  private readonly pings = new Map<number, number>();
  private pingSeq = 0;

  constructor(
    private readonly dom: ViewerDom,
    private readonly settings: OverlaySettings,
  ) {
    this.list = new StreamList(dom.list, (e) => this.onWatchChange(e));
    this.badge = new ConnectionBadge(dom.connection);
    this.badge.set('connecting', 'connecting…');
  }

  /** Wire an (already open) client: subscribe to every stream with previews, follow its events. */
  attach(client: AvlocClient): void {
    this.client = client;
    this.badge.set('open', 'connected');
    client.on('hello', (m) => this.badge.set('open', m.model ? `connected · ${m.model.name} ${m.model.gridH}×${m.model.gridW}` : 'connected'));
    client.on('open', () => {
      this.badge.set('open', 'connected');
      // The client re-sends '*' after a reconnect; streams the user hid must be hidden again.
      for (const e of this.list.all()) if (!e.watched) client.unsubscribe([e.id]);
    });
    client.on('close', (ev) => this.badge.set(ev.willReconnect ? 'reconnecting' : 'closed', ev.willReconnect ? 'disconnected — reconnecting…' : 'closed'));
    client.on('reconnecting', (ev) => this.badge.set('reconnecting', `reconnecting (try ${ev.attempt}, ${(ev.delayMs / 1000).toFixed(1)} s)…`));
    client.on('pong', (m) => {
      const sent = typeof m.id === 'number' ? this.pings.get(m.id) : undefined;
      if (sent === undefined || typeof m.id !== 'number') return;
      this.pings.delete(m.id);
      this.clock.add(sent, m.serverTimeMs, pageNowMs());
    });
    client.on('streams', (m) => this.reconcile(m.streams));
    client.on('stream.started', (m) => this.started(m.id, where(m)));
    client.on('stream.ended', (m) => this.ended(m.id, m.reason));
    client.on('stream.info', (m) => {
      const entry = this.list.get(m.id);
      const size = m.width && m.height ? `${m.width}×${m.height}` : '';
      this.list.upsert(m.id, entry?.live ?? true, [size, m.hasAudio ? '' : 'no audio'].filter(Boolean).join(' · ') || undefined);
    });
    client.on('stream.error', (m) => console.warn(`avloc: stream ${m.id}: ${m.code} ${m.message}`));
    client.on('error', (m) => console.warn(`avloc: server says ${m.code}: ${m.message}`));
    client.on('protocol-error', (ev) => console.warn('avloc: undecodable message', ev.error));
    client.on('heatmap', (h) => {
      const now = pageNowMs();
      const entry = this.list.get(h.streamId) ?? this.started(h.streamId);
      if (!entry.watched) return;
      if (!entry.live) this.started(h.streamId);
      this.tileFor(h.streamId).push(toViewerFrame(h, now));
    });
    client.subscribe('*', { format: 'binary', preview: true });
    this.ping();
    setInterval(() => this.ping(), CLOCK_PING_MS);
  }

  private ping(): void {
    const c = this.client;
    if (!c?.connected) return;
    if (this.pings.size >= 16) this.pings.clear();
    const id = ++this.pingSeq;
    this.pings.set(id, pageNowMs());
    c.ping(id);
  }

  /** Fetch the stream list over REST (first paint before the socket is up, and a periodic check). */
  async refreshFromRest(baseUrl = location.origin, token?: string): Promise<void> {
    try {
      const res = await fetch(`${baseUrl}/api/streams`, { cache: 'no-store', ...(token ? { headers: { Authorization: `Bearer ${token}` } } : {}) });
      if (!res.ok) return;
      const body = (await res.json()) as { streams?: StreamSummary[] };
      if (Array.isArray(body.streams)) this.reconcile(body.streams);
    } catch {
      // The socket's state already tells the user the server is unreachable.
    }
  }

  /** Repaint every tile with the current settings on the next animation frame. */
  invalidateAll(): void {
    for (const t of this.tiles.values()) t.invalidate();
  }

  /** Called once per animation frame. */
  draw(): void {
    for (const t of this.tiles.values()) t.draw(this.settings);
  }

  /** Bring a stream's tile to the front (e.g. the camera this page just published). */
  focus(id: string): void {
    const entry = this.list.get(id) ?? this.list.upsert(id, true);
    if (!entry.watched) {
      entry.watched = true;
      this.onWatchChange(entry);
    }
    const tile = this.tileFor(id);
    this.dom.tiles.prepend(tile.element);
  }

  private started(id: string, detail?: string): StreamEntry {
    const t = this.endTimers.get(id);
    if (t) clearTimeout(t);
    this.endTimers.delete(id);
    this.tiles.get(id)?.setEnded(false);
    const entry = this.list.upsert(id, true, detail);
    if (entry.watched) this.tileFor(id);
    return entry;
  }

  private ended(id: string, reason: string): void {
    if (!this.list.get(id)?.live) return;
    this.list.upsert(id, false, reason ? `ended: ${reason}` : 'ended');
    const tile = this.tiles.get(id);
    if (!tile) return;
    tile.setEnded(true);
    if (!this.endTimers.has(id)) {
      this.endTimers.set(
        id,
        setTimeout(() => {
          this.endTimers.delete(id);
          this.dropTile(id);
        }, ENDED_TILE_MS),
      );
    }
  }

  /** Make the list agree with a full listing: add what is new, end what is gone. */
  private reconcile(streams: readonly StreamSummary[]): void {
    const present = new Set(streams.map((s) => s.id));
    for (const s of streams) {
      const known = this.list.get(s.id);
      if (!known?.live) this.started(s.id, where(s));
    }
    for (const e of this.list.all()) if (e.live && !present.has(e.id)) this.ended(e.id, '');
  }

  private onWatchChange(e: StreamEntry): void {
    if (e.watched) {
      if (e.live) this.tileFor(e.id);
      this.client?.subscribe([e.id], { format: 'binary', preview: true });
    } else {
      this.dropTile(e.id);
      this.client?.unsubscribe([e.id]);
    }
  }

  private tileFor(id: string): StreamTile {
    let tile = this.tiles.get(id);
    if (!tile) {
      tile = new StreamTile(id, () => this.clock.offsetMs);
      this.tiles.set(id, tile);
      this.dom.tiles.append(tile.element);
    }
    return tile;
  }

  private dropTile(id: string): void {
    this.tiles.get(id)?.dispose();
    this.tiles.delete(id);
  }
}

/** What the list shows for one stream; filled from `GET /api/streams` and the live stream events. */
export interface StreamEntry {
  readonly id: string;
  live: boolean;
  /** Whether the user wants a tile for it. New streams are watched by default. */
  watched: boolean;
  detail?: string | undefined;
}

/**
 * The sidebar's live list of streams, each with a checkbox to show or hide its tile. Ended streams
 * stay listed (greyed) for a while so a viewer sees what happened; the list is capped so a server
 * with churning publishers cannot grow it without bound.
 */
export class StreamList {
  private readonly entries = new Map<string, StreamEntry>();

  constructor(
    private readonly root: HTMLElement,
    private readonly onWatchChange: (entry: StreamEntry) => void,
    private readonly maxEntries = 64,
  ) {
    this.render();
  }

  get(id: string): StreamEntry | undefined {
    return this.entries.get(id);
  }

  all(): StreamEntry[] {
    return [...this.entries.values()];
  }

  /** Add or refresh a stream; returns its entry. */
  upsert(id: string, live: boolean, detail?: string): StreamEntry {
    let e = this.entries.get(id);
    if (!e) {
      e = { id, live, watched: true, detail };
      this.entries.set(id, e);
      this.evict();
    } else {
      e.live = live;
      if (detail !== undefined) e.detail = detail;
    }
    this.render();
    return e;
  }

  /** Forget ended streams first, oldest first, when over the cap. */
  private evict(): void {
    for (const [id, e] of this.entries) {
      if (this.entries.size <= this.maxEntries) return;
      if (!e.live) this.entries.delete(id);
    }
  }

  private render(): void {
    if (this.entries.size === 0) {
      const empty = document.createElement('li');
      empty.className = 'stream-empty';
      empty.textContent = 'No streams yet. Publish over RTMP, WHIP, or with the camera button.';
      this.root.replaceChildren(empty);
      return;
    }
    this.root.replaceChildren(
      ...[...this.entries.values()].map((e) => {
        const li = document.createElement('li');
        li.className = e.live ? 'stream live' : 'stream ended';
        li.dataset['stream'] = e.id;
        const label = document.createElement('label');
        const box = document.createElement('input');
        box.type = 'checkbox';
        box.checked = e.watched;
        box.addEventListener('change', () => {
          e.watched = box.checked;
          this.onWatchChange(e);
        });
        const dot = document.createElement('span');
        dot.className = 'dot';
        const name = document.createElement('span');
        name.className = 'stream-name';
        name.textContent = e.id;
        label.append(box, dot, name);
        if (e.detail) {
          const d = document.createElement('small');
          d.textContent = e.detail;
          label.append(d);
        }
        li.append(label);
        return li;
      }),
    );
  }
}

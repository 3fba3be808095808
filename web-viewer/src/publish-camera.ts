/**
 * The "Publish my camera" panel: camera + microphone → WHIP → this server. The WHIP exchange
 * itself is whip-client.ts (passed in as `publish`, so this file is only the UI and the
 * lifecycle: one publication at a time, tracks stopped and the WHIP resource deleted on Stop or
 * when the page goes away).
 */

/** A live publication; `stop()` ends the peer connection and DELETEs the WHIP resource. */
export interface Publication {
  stop(): Promise<void>;
}
export type WhipPublisher = (url: string, media: MediaStream) => Promise<Publication>;

const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface PublishCameraOptions {
  readonly publish: WhipPublisher;
  /** Told the id once the server accepted the offer, so the page can show that stream first. */
  readonly onPublished?: (streamId: string) => void;
  /** Base URL of the service (default: this page's origin). */
  readonly baseUrl?: string;
}

export function bindPublishCamera(root: ParentNode, opts: PublishCameraOptions): void {
  const idInput = need<HTMLInputElement>(root, '#publish-id');
  const start = need<HTMLButtonElement>(root, '#publish-start');
  const stop = need<HTMLButtonElement>(root, '#publish-stop');
  const status = need<HTMLElement>(root, '#publish-status');
  if (!idInput.value) idInput.value = `cam-${Math.random().toString(16).slice(2, 8)}`;

  let media: MediaStream | undefined;
  let publication: Publication | undefined;

  const show = (state: 'idle' | 'busy' | 'live' | 'error', text: string): void => {
    status.dataset['state'] = state;
    status.textContent = text;
    start.disabled = state === 'busy' || state === 'live';
    stop.disabled = state !== 'live';
    idInput.disabled = state === 'busy' || state === 'live';
  };

  const release = async (): Promise<void> => {
    const p = publication;
    publication = undefined;
    for (const t of media?.getTracks() ?? []) t.stop();
    media = undefined;
    await p?.stop();
  };

  start.addEventListener('click', () => {
    void (async () => {
      const id = idInput.value.trim();
      if (!ID_PATTERN.test(id)) {
        show('error', 'stream id: 1–64 characters of A–Z a–z 0–9 _ -');
        return;
      }
      show('busy', 'asking for camera and microphone…');
      try {
        media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
        show('busy', 'connecting over WHIP…');
        const base = opts.baseUrl ?? location.origin;
        publication = await opts.publish(`${base}/whip/${encodeURIComponent(id)}`, media);
        show('live', `publishing as "${id}"`);
        opts.onPublished?.(id);
      } catch (err) {
        await release().catch(() => undefined);
        show('error', `could not publish: ${err instanceof Error ? err.message : String(err)}`);
      }
    })();
  });

  stop.addEventListener('click', () => {
    show('busy', 'stopping…');
    release().then(
      () => show('idle', 'stopped'),
      (err: unknown) => show('error', `stop failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  });

  // Best effort: a closing tab should not leave the server waiting for a stall timeout.
  addEventListener('pagehide', () => {
    void release().catch(() => undefined);
  });
}

function need<T extends Element>(root: ParentNode, sel: string): T {
  const e = root.querySelector<T>(sel);
  if (!e) throw new Error(`viewer markup is missing ${sel}`);
  return e;
}

/**
 * The "Publish my camera" panel: camera + microphone → WHIP → this server. The WHIP exchange
 * itself lives in whip-client.ts; this file is the UI and the lifecycle (one publication at a time,
 * tracks stopped and the WHIP resource deleted on Stop or when the page goes away).
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

// ---- WHIP exchange (fallback) ------------------------------------------------------------

const GATHER_TIMEOUT_MS = 3000;

/**
 * A minimal WHIP publisher (RFC 9725) for the button, until the shared `whip-client.ts` lands:
 * sendonly transceivers, a full (non-trickle) offer POSTed as application/sdp, the answer applied,
 * and the Location resource DELETEd on stop. The server takes no trickle ICE (PATCH → 405).
 */
export async function whipPublishBasic(url: string, media: MediaStream): Promise<Publication> {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  try {
    for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
    await pc.setLocalDescription(await pc.createOffer());
    // The server answers with all its candidates and takes no trickle (PATCH → 405): send ours in the offer.
    await iceGatheringComplete(pc, GATHER_TIMEOUT_MS);
    const offer = pc.localDescription?.sdp;
    if (!offer) throw new Error('no local offer');
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
    if (res.status !== 201) throw new Error(`WHIP POST ${res.status}: ${(await res.text()).slice(0, 200)}`);
    const location = res.headers.get('Location');
    if (!location) throw new Error('WHIP answer without a Location header');
    const resource = new URL(location, url).toString();
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    let stopped = false;
    return {
      async stop() {
        if (stopped) return;
        stopped = true;
        pc.close();
        // keepalive: the DELETE must still go out when Stop runs from a closing page (pagehide).
        const del = await fetch(resource, { method: 'DELETE', keepalive: true });
        if (!del.ok && del.status !== 404) throw new Error(`WHIP DELETE ${del.status}`);
      },
    };
  } catch (err) {
    pc.close();
    throw err;
  }
}

function iceGatheringComplete(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = (): void => {
      if (pc.iceGatheringState === 'complete') done();
    };
    // Gathering can hang on a host with odd interfaces; what we have by then is usually enough.
    const t = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/**
 * A minimal WHIP publisher for the browser (RFC 9725): one POST with a complete offer (all ICE
 * candidates, no trickle — the avloc server does not support PATCH), the answer applied, and a
 * DELETE of the returned resource on stop. No Node imports: the viewer bundles it.
 */

export interface WhipPublication {
  /** Absolute URL of the WHIP session resource (from the Location header). */
  readonly resourceUrl: string;
  readonly pc: RTCPeerConnection;
  /** Closes the peer connection and DELETEs the resource. Idempotent; a resource already gone (404) is fine. */
  stop(): Promise<void>;
}

export interface WhipPublishOptions {
  readonly iceServers?: RTCIceServer[];
  /** Bearer token for servers that require one (avloc does not). */
  readonly token?: string;
  /** Put this video codec first (e.g. 'video/H264'), when the browser can send it. */
  readonly preferVideoCodec?: string;
  /** Answer with what was gathered after this long (default 3000 ms). */
  readonly iceGatheringTimeoutMs?: number;
}

/** Publishes `stream`'s tracks to the WHIP endpoint `url`; resolves once the answer is applied. */
export async function whipPublish(url: string, stream: MediaStream, opts: WhipPublishOptions = {}): Promise<WhipPublication> {
  const pc = new RTCPeerConnection({ iceServers: opts.iceServers ?? [], bundlePolicy: 'max-bundle' });
  try {
    for (const track of stream.getTracks()) {
      const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      if (track.kind === 'video' && opts.preferVideoCodec) preferCodec(transceiver, opts.preferVideoCodec);
    }
    await pc.setLocalDescription(await pc.createOffer());
    await iceGatheringComplete(pc, opts.iceGatheringTimeoutMs ?? 3000);
    const headers: Record<string, string> = { 'Content-Type': 'application/sdp' };
    if (opts.token) headers['Authorization'] = `Bearer ${opts.token}`;
    const res = await fetch(url, { method: 'POST', headers, body: pc.localDescription?.sdp ?? '' });
    if (res.status !== 201) {
      throw new Error(`WHIP endpoint answered ${res.status}: ${(await res.text()).trim()}`);
    }
    const location = res.headers.get('Location');
    if (!location) throw new Error('WHIP endpoint sent no Location header');
    const resourceUrl = new URL(location, url).href;
    await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        pc.close();
        // keepalive: lets the DELETE go out while the page is being unloaded.
        const del = await fetch(resourceUrl, { method: 'DELETE', headers: opts.token ? { Authorization: `Bearer ${opts.token}` } : {}, keepalive: true });
        if (!del.ok && del.status !== 404) throw new Error(`WHIP DELETE answered ${del.status}`);
      })();
      return stopping;
    };
    return { resourceUrl, pc, stop };
  } catch (err) {
    pc.close();
    throw err;
  }
}

function preferCodec(transceiver: RTCRtpTransceiver, mimeType: string): void {
  const codecs = RTCRtpSender.getCapabilities('video')?.codecs ?? [];
  const wanted = codecs.filter((c) => c.mimeType.toLowerCase() === mimeType.toLowerCase());
  if (wanted.length === 0 || typeof transceiver.setCodecPreferences !== 'function') return;
  transceiver.setCodecPreferences([...wanted, ...codecs.filter((c) => !wanted.includes(c))]);
}

/** Without trickle the offer must carry every candidate, so wait for gathering (bounded). */
function iceGatheringComplete(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

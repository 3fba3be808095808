import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { firstValueFrom, filter, ReplaySubject } from 'rxjs';
import { MediaStreamTrack, RTCPeerConnection, useOPUS, useVP8 } from 'werift';
import { createLogger } from '../../src/log.ts';
import type { SourceEvent } from '../../src/ingest/source.ts';
import { WhipIngest, type WhipHandler } from '../../src/ingest/whip-ingest.ts';
import { reserveUdpPortPair } from '../../src/ingest/whip/udp-ports.ts';

/** Mounts the ingest's handlers the way the service's router will: /whip/:id and /whip/:id/:resource. */
function serve(ingest: WhipIngest): Promise<Server> {
  const table: Record<string, [WhipHandler | undefined, WhipHandler | undefined]> = {
    POST: [ingest.handlePost, undefined],
    DELETE: [undefined, ingest.handleDelete],
    PATCH: [undefined, ingest.handlePatch],
    OPTIONS: [ingest.handleOptions, ingest.handleOptions],
  };
  const server = createServer((req, res) => {
    const m = /^\/whip\/([^/?]+)(?:\/([^/?]+))?\/?(?:\?.*)?$/.exec(req.url ?? '');
    const handler = m ? table[req.method ?? '']?.[m[2] === undefined ? 0 : 1] : undefined;
    if (!m || !handler) {
      res.writeHead(404).end();
      return;
    }
    void handler(req, res, { id: m[1], resource: m[2] });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A WHIP publisher in Node: werift offerer whose tracks carry RTP from an ffmpeg test-pattern encoder. */
class NodePublisher {
  readonly pc = new RTCPeerConnection({
    codecs: { audio: [useOPUS()], video: [useVP8()] },
    iceServers: [],
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceUseIpv6: false,
  });
  private encoder: ChildProcess | undefined;
  private readonly sockets: Socket[] = [];

  async offer(): Promise<string> {
    const video = new MediaStreamTrack({ kind: 'video' });
    const audio = new MediaStreamTrack({ kind: 'audio' });
    this.pc.addTransceiver(video, { direction: 'sendonly' });
    this.pc.addTransceiver(audio, { direction: 'sendonly' });
    const vport = await this.listen(video);
    const aport = await this.listen(audio);
    this.encoder = spawn('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-re',
      '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30',
      '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
      '-map', '0:v', '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '15',
      '-payload_type', '96', '-f', 'rtp', `rtp://127.0.0.1:${vport}?pkt_size=1200`,
      '-map', '1:a', '-c:a', 'libopus', '-b:a', '48k', '-payload_type', '111', '-f', 'rtp', `rtp://127.0.0.1:${aport}`,
    ], { stdio: ['ignore', 'ignore', 'inherit'] });
    await this.pc.setLocalDescription(await this.pc.createOffer());
    if (this.pc.iceGatheringState !== 'complete') {
      await this.pc.iceGatheringStateChange.watch((s) => s === 'complete');
    }
    return this.pc.localDescription!.sdp;
  }

  async close(): Promise<void> {
    this.encoder?.kill('SIGKILL');
    for (const s of this.sockets) s.close();
    await this.pc.close();
  }

  private async listen(track: MediaStreamTrack): Promise<number> {
    const port = await reserveUdpPortPair();
    const socket = createSocket('udp4');
    socket.on('message', (buf) => track.writeRtp(buf));
    await new Promise<void>((resolve) => socket.bind(port, '127.0.0.1', () => resolve()));
    this.sockets.push(socket);
    return port;
  }
}

/** Runs ffmpeg to completion; the kill timer only guards against a hang and fails the test if it fires. */
function runFfmpeg(args: readonly string[], guardMs = 20_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'warning', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), guardMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('WHIP ingest', () => {
  let ingest: WhipIngest;
  let server: Server;
  let base: string;
  const events = new ReplaySubject<SourceEvent>();

  before(async () => {
    ingest = new WhipIngest({ log: createLogger('whip-test', (process.env.AVLOC_LOG_LEVEL as 'warn' | undefined) ?? 'warn'), stallTimeoutMs: 5000 });
    ingest.events$.subscribe(events);
    await ingest.start();
    server = await serve(ingest);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    await ingest.close();
    await new Promise((resolve) => server.close(resolve));
  });

  test('rejects a wrong content type with 415', async () => {
    const res = await fetch(`${base}/whip/cam1`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 415);
  });

  test('rejects a malformed SDP with 400 and a message', async () => {
    const res = await fetch(`${base}/whip/cam1`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'hello' });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /malformed SDP/);
  });

  test('rejects an offer with neither audio nor video with 400', async () => {
    const sdp = 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n';
    const res = await fetch(`${base}/whip/cam1`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: sdp });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /neither an audio nor a video/);
    assert.equal(ingest.session('cam1'), undefined);
  });

  test('DELETE of an unknown resource is 404, PATCH is 405, OPTIONS allows CORS', async () => {
    assert.equal((await fetch(`${base}/whip/nope/123`, { method: 'DELETE' })).status, 404);
    const patch = await fetch(`${base}/whip/nope/123`, { method: 'PATCH', headers: { 'Content-Type': 'application/trickle-ice-sdpfrag' }, body: 'a=x' });
    assert.equal(patch.status, 405);
    const options = await fetch(`${base}/whip/cam1`, { method: 'OPTIONS' });
    assert.equal(options.status, 204);
    assert.equal(options.headers.get('access-control-allow-origin'), '*');
    assert.match(options.headers.get('access-control-expose-headers') ?? '', /Location/);
  });

  test('a werift publisher streams VP8 + Opus that ffmpeg decodes from the SDP file; DELETE frees it', async (t) => {
    const publisher = new NodePublisher();
    const out = await mkdtemp(join(tmpdir(), 'avloc-whip-test-'));
    t.after(async () => {
      await publisher.close();
      await rm(out, { recursive: true, force: true });
    });
    const started = firstValueFrom(events.pipe(filter((e) => e.type === 'started' && e.source.id === 'cam1')));

    const res = await fetch(`${base}/whip/cam1`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: await publisher.offer() });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('content-type'), 'application/sdp');
    const location = res.headers.get('location') ?? '';
    assert.match(location, /^\/whip\/cam1\/[0-9a-f-]{36}$/);
    assert.ok(res.headers.get('etag'));
    await publisher.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });

    const again = await fetch(`${base}/whip/cam1`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0' });
    assert.equal(again.status, 409);

    const event = await started;
    assert.equal(event.type, 'started');
    const source = event.type === 'started' ? event.source : undefined;
    assert.ok(source);
    assert.equal(source.kind, 'whip');
    const sdpPath = source.ffmpegInput[source.ffmpegInput.length - 1]!;
    const sdp = await readFile(sdpPath, 'utf8');
    assert.match(sdp, /a=rtpmap:\d+ VP8\/90000/);
    assert.match(sdp, /a=rtpmap:\d+ opus\/48000\/2/i);

    const videoOut = join(out, 'v.rgb');
    const audioOut = join(out, 'a.f32');
    const run = await runFfmpeg([
      ...source.ffmpegInput,
      '-map', '0:v:0', '-frames:v', '10', '-s', '64x48', '-pix_fmt', 'rgb24', '-f', 'rawvideo', videoOut,
      '-map', '0:a:0', '-t', '0.5', '-ac', '1', '-ar', '16000', '-f', 'f32le', audioOut,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await stat(videoOut)).size, 10 * 64 * 48 * 3);
    const audio = new Float32Array((await readFile(audioOut)).buffer.slice(0));
    assert.ok(audio.length > 4000, `audio samples: ${audio.length}`);
    assert.ok(audio.some((s) => Math.abs(s) > 0.05), 'the sine tone decoded as silence');

    const ended = firstValueFrom(events.pipe(filter((e) => e.type === 'ended' && e.id === 'cam1')));
    const del = await fetch(`${base}${location}`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    const end = await ended;
    assert.equal(end.type === 'ended' && end.reason, 'publisher sent DELETE');
    assert.equal(existsSync(sdpPath), false);
    assert.equal(ingest.session('cam1'), undefined);
    assert.equal((await fetch(`${base}${location}`, { method: 'DELETE' })).status, 404);
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { firstValueFrom, filter, ReplaySubject, timeout } from 'rxjs';
import { MediaStreamTrack, RTCPeerConnection, useOPUS, useVP8 } from 'werift';
import { createLogger } from '../../src/log.ts';
import type { Source, SourceEvent } from '../../src/media/source.ts';
import { createHttpApp } from '../../src/http/app.ts';
import { WhipIngest } from '../../src/ingest/whip-ingest.ts';
import { reserveUdpPortPair } from '../../src/ingest/whip/udp-ports.ts';

/** Mounts the ingest's routes on the service's HTTP app: /whip/:id and /whip/:id/:resource. */
async function serve(ingest: WhipIngest): Promise<Server> {
  const app = createHttpApp({
    log: createLogger('whip-test', 'silent'),
    routes: (api) => {
      api.register(ingest.routes);
    },
  });
  await app.ready();
  const server = app.server;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** A WhipIngest of its own with these options, served until the test ends. */
async function serveOwn(
  t: { after(fn: () => Promise<void>): void },
  options: ConstructorParameters<typeof WhipIngest>[0],
): Promise<{ ingest: WhipIngest; base: string }> {
  const ingest = new WhipIngest({ log: createLogger('whip-test', 'silent'), ...options });
  const server = await serve(ingest);
  t.after(async () => {
    await ingest.close();
    await new Promise((resolve) => server.close(resolve));
  });
  return { ingest, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A WHIP publisher in Node: werift offerer whose tracks carry RTP from an ffmpeg test-pattern encoders. */
class NodePublisher {
  readonly pc = new RTCPeerConnection({
    codecs: { audio: [useOPUS()], video: [useVP8()] },
    iceServers: [],
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceUseIpv6: false,
    // With the default max-compat policy werift opens one ICE transport per m-line and does not close
    // the one BUNDLE makes unused, which keeps the test process alive.
    bundlePolicy: 'max-bundle',
  });
  private readonly encoders: ChildProcess[] = [];
  private readonly sockets: Socket[] = [];
  /** While false, the audio track sends nothing (its RTP from ffmpeg is dropped), as if the microphone came late. */
  audioOn = true;

  async offer(): Promise<string> {
    const video = new MediaStreamTrack({ kind: 'video' });
    const audio = new MediaStreamTrack({ kind: 'audio' });
    this.pc.addTransceiver(video, { direction: 'sendonly' });
    this.pc.addTransceiver(audio, { direction: 'sendonly' });
    const vport = await this.listen(video, () => true);
    const aport = await this.listen(audio, () => this.audioOn);
    // One encoder per track, each paced by -re on its own input: in a single ffmpeg the two
    // streams come out in bursts (the slower encoder holds the other back), unlike a camera.
    const encode = (args: string[]) => spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    this.encoders.push(
      encode(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=15',
        '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '200k', '-g', '8',
        '-payload_type', '96', '-f', 'rtp', `rtp://127.0.0.1:${vport}?pkt_size=1200`]),
      encode(['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
        '-c:a', 'libopus', '-b:a', '48k', '-payload_type', '111', '-f', 'rtp', `rtp://127.0.0.1:${aport}`]),
    );
    await this.pc.setLocalDescription(await this.pc.createOffer());
    if (this.pc.iceGatheringState !== 'complete') {
      await this.pc.iceGatheringStateChange.watch((s) => s === 'complete');
    }
    return this.pc.localDescription!.sdp;
  }

  async close(): Promise<void> {
    this.stopMedia();
    await this.pc.close();
  }

  /** Stops the media (encoder and sockets) but leaves the peer connection up, like a frozen publisher. */
  stopMedia(): void {
    for (const e of this.encoders) e.kill('SIGKILL');
    for (const s of this.sockets.splice(0)) s.close();
  }

  private async listen(track: MediaStreamTrack, on: () => boolean): Promise<number> {
    const port = await reserveUdpPortPair();
    const socket = createSocket('udp4');
    socket.on('message', (buf) => {
      if (on()) track.writeRtp(buf);
    });
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

/** ffprobe's packet list for a Source: [stream index, pts seconds] in demux (≈ arrival) order. */
function probePackets(input: readonly string[], seconds: number): Promise<Array<[number, number]>> {
  return new Promise((resolve) => {
    const args = ['-hide_banner', '-loglevel', 'error', ...input, '-read_intervals', `%+${seconds}`,
      '-show_entries', 'packet=stream_index,pts_time', '-of', 'csv=p=0'];
    const child = spawn('ffprobe', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', () => {
      clearTimeout(guard);
      const rows = out.trim().split('\n').map((l) => l.split(',').map(Number));
      resolve(rows.filter((r) => r.length >= 2 && Number.isFinite(r[1])).map((r) => [r[0]!, r[1]!]));
    });
  });
}

/** Bounds every wait for an event, so a broken connection fails the test instead of hanging it. */
const GUARD_MS = 45_000;

describe('WHIP ingest', () => {
  let ingest: WhipIngest;
  let server: Server;
  let base: string;
  const events = new ReplaySubject<SourceEvent>();

  before(async () => {
    ingest = new WhipIngest({ stallTimeoutMs: 1500, log: createLogger('whip-test', (process.env.AVLOC_LOG_LEVEL as 'warn' | undefined) ?? 'warn') });
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

  test('a publisher beyond maxSessions gets 503 and nothing is held for it', async (t) => {
    const { ingest: full, base: fullBase } = await serveOwn(t, { maxSessions: 0 });
    const url = `${fullBase}/whip/cam9`;
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0' });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get('retry-after'), '10');
    assert.equal(full.session('cam9'), undefined);
  });

  test('regression: an id already live through another door (RTMP) gets 409, and nothing is held for it', async (t) => {
    const { ingest: busy, base: busyBase } = await serveOwn(t, { isLive: (id) => id === 'cam7' });
    const url = `${busyBase}/whip/cam7`;
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0' });
    assert.equal(res.status, 409);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'STREAM_EXISTS', 'WHIP errors are JSON with the catalog code');
    assert.match(body.error.message, /already being published/);
    assert.equal(busy.session('cam7'), undefined);
  });

  test('an offer over maxOfferBytes gets 413 PAYLOAD_TOO_LARGE, and its id and claim are given back', async (t) => {
    let released = 0;
    const claims = { claim: async () => ({ refused: null, release: () => void released++ }) };
    const { ingest: small, base: smallBase } = await serveOwn(t, { maxOfferBytes: 64, claims });
    const url = `${smallBase}/whip/cam8`;
    const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: `v=0\r\n${'a=x\r\n'.repeat(40)}` });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'PAYLOAD_TOO_LARGE');
    for (let i = 0; i < 50 && released === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(released, 1, 'the cluster claim is released');
    assert.equal(small.session('cam8'), undefined);
    const again = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'hello' });
    assert.equal(again.status, 400, 'the id is free again: the next offer is read (and is malformed), not refused with 409');
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
    const started = firstValueFrom(events.pipe(filter((e) => e.type === 'started' && e.source.id === 'cam1'), timeout(GUARD_MS)));

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
      '-map', '0:a:0', '-t', '1', '-ac', '1', '-ar', '16000', '-f', 'f32le', audioOut,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((await stat(videoOut)).size, 10 * 64 * 48 * 3);
    const audio = new Float32Array((await readFile(audioOut)).buffer.slice(0));
    assert.ok(audio.length >= 1600, `audio samples: ${audio.length}`); // ≥ 0.1 s; the output clock starts with the first (video) packet
    assert.ok(audio.some((s) => Math.abs(s) > 0.05), 'the sine tone decoded as silence');

    const ended = firstValueFrom(events.pipe(filter((e) => e.type === 'ended' && e.id === 'cam1'), timeout(GUARD_MS)));
    const del = await fetch(`${base}${location}`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    const end = await ended;
    assert.equal(end.type === 'ended' && end.reason, 'publisher sent DELETE');
    assert.equal(existsSync(sdpPath), false);
    assert.equal(ingest.session('cam1'), undefined);
    assert.equal((await fetch(`${base}${location}`, { method: 'DELETE' })).status, 404);
  });

  async function publish(id: string, publisher: NodePublisher): Promise<{ location: string; source: Source }> {
    const started = firstValueFrom(events.pipe(filter((e) => e.type === 'started' && e.source.id === id), timeout(GUARD_MS)));
    const res = await fetch(`${base}/whip/${id}`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: await publisher.offer() });
    assert.equal(res.status, 201);
    await publisher.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    const event = await started;
    assert.ok(event.type === 'started');
    return { location: res.headers.get('location') ?? '', source: event.source };
  }

  test('audio that starts after video is placed on ffmpeg\'s timeline by the sender reports, not at 0', async (t) => {
    const publisher = new NodePublisher();
    publisher.audioOn = false;
    t.after(() => publisher.close());
    const { location, source } = await publish('sync', publisher);
    const session = ingest.session('sync')!;
    const packets = probePackets(source.ffmpegInput, 5);
    // The forwarder notices when ffprobe starts listening; video then flows into it for 1.5 s before any audio.
    for (let i = 0; session.stats.consumerStarts === 0; i++) {
      assert.ok(i < 400, `ffprobe never seen listening: ${JSON.stringify(session.stats)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 1500));
    publisher.audioOn = true;
    const rows = await packets;
    const firstAudio = rows.findIndex(([stream]) => stream === 1);
    assert.ok(firstAudio > 0, `no audio after video in ${rows.length} packets`);
    const audioPts = rows[firstAudio]![1];
    const videoBefore = rows.slice(0, firstAudio).filter(([stream]) => stream === 0);
    const videoPts = videoBefore[videoBefore.length - 1]![1];
    // Each RTP stream on its own would start at 0 in ffmpeg; with the reports, audio starts where the
    // video is (the exact offset depends on the publisher's pacing, so only the gross effect is checked).
    assert.ok(audioPts > 0.75, `audio starts at ${audioPts} s although ${videoPts} s of video came first`);
    assert.ok(Math.abs(audioPts - videoPts) < 1, `audio ${audioPts} s vs video ${videoPts} s arriving together`);
    await fetch(`${base}${location}`, { method: 'DELETE' });
  });

  test('a publisher whose media stops is ended after the stall timeout and its files are freed', async (t) => {
    const publisher = new NodePublisher();
    t.after(() => publisher.close());
    const { source } = await publish('stall', publisher);
    const sdpPath = source.ffmpegInput[source.ffmpegInput.length - 1]!;
    assert.equal(existsSync(sdpPath), true);
    const ended = firstValueFrom(events.pipe(filter((e) => e.type === 'ended' && e.id === 'stall'), timeout(GUARD_MS)));
    publisher.stopMedia();
    const end = await ended;
    assert.match(end.type === 'ended' ? end.reason : '', /no packets for 1500 ms|peer connection/);
    assert.equal(existsSync(sdpPath), false);
    assert.equal(ingest.session('stall'), undefined);
  });
});

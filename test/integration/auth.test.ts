import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { MediaStreamTrack, RTCPeerConnection, useOPUS, useVP8 } from 'werift';
import { WebSocket } from 'ws';
import { signToken } from '../../src/auth/tokens.ts';
import { AvlocError } from '../../src/errors.ts';
import { AvlocClient } from '../../src/wire/client.ts';
import type { AvlocServer } from '../../src/server.ts';
import { publishRtmp, type Publisher } from '../support/ffmpeg.ts';
import { collect, rtmpUrl, startTestServer } from '../support/service.ts';

/**
 * With auth.secret set, every door needs a signed token that grants what is asked, end to end over
 * real RTMP (ffmpeg), WHIP (a werift offer), the WebSocket and REST; without one, or with a bad,
 * expired, unsigned or insufficient one, each door refuses and nothing is started.
 */
const SECRET = 'test-secret-of-at-least-thirty-two-bytes!';
const token = (grants: { publish?: string[]; subscribe?: string[]; admin?: boolean }) => signToken(SECRET, { ...grants, ttlSeconds: 600 });

/** A correctly signed token that expired a minute ago. */
function expiredToken(): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ avloc: { publish: ['*'], subscribe: ['*'], admin: true } })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt(now - 120)
    .setExpirationTime(now - 60)
    .sign(new TextEncoder().encode(SECRET));
}

/** An unsigned token (`alg: none`) that claims everything. */
function unsignedToken(): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ avloc: { publish: ['*'], subscribe: ['*'], admin: true }, exp: Math.floor(Date.now() / 1000) + 600 })}.`;
}

/** The HTTP status a WebSocket upgrade is answered with (101 when it opens). */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('error', (err) => {
      if (!String(err.message).includes('Unexpected server response')) reject(err);
    });
  });
}

async function whipOffer(): Promise<{ sdp: string; close: () => Promise<void> }> {
  const pc = new RTCPeerConnection({
    codecs: { audio: [useOPUS()], video: [useVP8()] },
    iceAdditionalHostAddresses: ['127.0.0.1'],
    iceUseIpv6: false,
    bundlePolicy: 'max-bundle',
  });
  pc.addTransceiver(new MediaStreamTrack({ kind: 'video' }), { direction: 'sendonly' });
  pc.addTransceiver(new MediaStreamTrack({ kind: 'audio' }), { direction: 'sendonly' });
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') await pc.iceGatheringStateChange.watch((s) => s === 'complete');
  return { sdp: pc.localDescription!.sdp, close: () => pc.close() };
}

async function until(cond: () => Promise<boolean> | boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('auth on: every door needs a token', { timeout: 120_000 }, () => {
  let server: AvlocServer;
  let http: string;
  let ws: string;
  const pubs: Publisher[] = [];

  before(async () => {
    server = await startTestServer({ auth: { secret: SECRET } });
    http = `http://127.0.0.1:${server.httpPort}`;
    ws = `ws://127.0.0.1:${server.httpPort}/ws`;
  });
  after(async () => {
    await Promise.all(pubs.map((p) => p.kill()));
    await server.close();
  });

  const live = (): string[] => server.hub.listStreams().map((s) => s.id).sort();

  test('RTMP: no token, a bad one, or one for another id is disconnected before a decoder starts; a valid one publishes', async () => {
    // Four ids, so that each is refused for its token and not as a second publisher of one id.
    const noToken = publishRtmp(rtmpUrl(server, 'cam-1'));
    const wrongId = publishRtmp(`${rtmpUrl(server, 'cam-2')}?token=${await token({ publish: ['cam-b'] })}`);
    const unsigned = publishRtmp(`${rtmpUrl(server, 'cam-3')}?token=${unsignedToken()}`);
    const expired = publishRtmp(`${rtmpUrl(server, 'cam-4')}?token=${await expiredToken()}`);
    pubs.push(noToken, wrongId, unsigned, expired);
    await Promise.all([noToken.exited, wrongId.exited, unsigned.exited, expired.exited]);
    assert.deepEqual(live(), [], 'no refused publisher became a stream');
    assert.equal(server.decoderPids().size, 0, 'and no decoder was started for one');

    const good = publishRtmp(`${rtmpUrl(server, 'cam-a')}?token=${await token({ publish: ['cam-*'] })}`);
    const other = publishRtmp(`${rtmpUrl(server, 'other')}?token=${await token({ publish: ['other'] })}`);
    pubs.push(good, other);
    await until(() => live().join() === 'cam-a,other');
  });

  test('WebSocket: refused without a valid token; a subscribe token sees only the streams it grants', async () => {
    assert.equal(await upgradeStatus(ws), 401);
    assert.equal(await upgradeStatus(`${ws}?token=${unsignedToken()}`), 401);
    assert.equal(await upgradeStatus(`${ws}?token=${await expiredToken()}`), 401);
    const tampered = (await token({ subscribe: ['*'] })).slice(0, -2) + 'AA';
    assert.equal(await upgradeStatus(`${ws}?token=${tampered}`), 401);
    assert.equal(await upgradeStatus(`${ws}?token=${'x'.repeat(5000)}`), 401, 'an oversized token is refused unparsed');

    const client = await AvlocClient.connect(`${ws}?token=${await token({ subscribe: ['cam-*'] })}`, { WebSocket, reconnect: false });
    try {
      const listed = collect(client, 'streams', 1);
      const heatmaps = collect(client, 'heatmap', 5);
      client.subscribe('*');
      assert.deepEqual((await listed)[0]!.streams.map((s) => s.id), ['cam-a'], 'the stream list is limited to the grant');
      const got = await heatmaps;
      assert.ok(got.every((h) => h.streamId === 'cam-a'), 'heatmaps of "other" never reach this client');
      const refused = collect(client, 'error', 1);
      client.subscribe(['other']);
      assert.equal((await refused)[0]!.code, 'FORBIDDEN');
    } finally {
      client.close();
    }
  });

  test('REST and /metrics: Bearer token; streams filtered by grant; /metrics is admin; /api/health is public', async () => {
    const get = (path: string, t?: string) => fetch(`${http}${path}`, t ? { headers: { Authorization: `Bearer ${t}` } } : {});
    const anon = await get('/api/streams');
    assert.equal(anon.status, 401);
    assert.match(anon.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal(((await anon.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    const viewer = await token({ subscribe: ['cam-*'] });
    const list = (await (await get('/api/streams', viewer)).json()) as { streams: { id: string }[] };
    assert.deepEqual(list.streams.map((s) => s.id), ['cam-a']);
    assert.equal((await get('/metrics')).status, 401);
    assert.equal((await get('/metrics', viewer)).status, 403);
    const admin = await get('/metrics', await token({ admin: true }));
    assert.equal(admin.status, 200);
    assert.match(await admin.text(), /avloc_auth_refusals_total\{door="rtmp"\} 4/, 'the four refused RTMP publishers are counted');
    assert.equal((await get('/api/health')).status, 200);
  });

  test('WHIP: 401 without a Bearer token, 403 for another id or a foreign origin, 201 with one; DELETE needs it too', async () => {
    const offer = await whipOffer();
    try {
      const post = (headers: Record<string, string>) =>
        fetch(`${http}/whip/cam-w`, { method: 'POST', headers: { 'Content-Type': 'application/sdp', ...headers }, body: offer.sdp });
      const anon = await post({});
      assert.equal(anon.status, 401);
      assert.match(anon.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.equal((await post({ Authorization: `Bearer ${await token({ publish: ['cam-a'] })}` })).status, 403);
      const t = await token({ publish: ['cam-w'] });
      assert.equal((await post({ Authorization: `Bearer ${t}`, Origin: 'http://evil.example' })).status, 403);
      const ok = await post({ Authorization: `Bearer ${t}` });
      assert.equal(ok.status, 201, await ok.clone().text());
      const resource = `${http}${ok.headers.get('location')}`;
      assert.equal((await fetch(resource, { method: 'DELETE' })).status, 401);
      assert.equal((await fetch(resource, { method: 'DELETE', headers: { Authorization: `Bearer ${t}` } })).status, 200);
    } finally {
      await offer.close();
    }
  });

  test('a browser page from another origin cannot open the socket, even with a token', async () => {
    const t = await token({ subscribe: ['*'] });
    assert.equal(await upgradeStatus(`${ws}?token=${t}`, { Origin: 'http://evil.example' }), 403);
    assert.equal(await upgradeStatus(`${ws}?token=${t}`, { Origin: `http://127.0.0.1:${server.httpPort}` }), 101, 'its own origin may');
  });
});

test('without a secret the service refuses a non-loopback listen address unless told --allow-anonymous', { timeout: 30_000 }, async () => {
  await assert.rejects(startTestServer({ http: { host: '0.0.0.0' } }), (err: unknown) => {
    assert.ok(err instanceof AvlocError);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.match(err.message, /http listens on 0\.0\.0\.0 with no auth.*--allow-anonymous/s);
    return true;
  });
  const open = await startTestServer({ http: { host: '0.0.0.0' }, auth: { allowAnonymous: true } });
  await open.close();
});

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { ClaimBook } from '../../src/cluster/claim-book.ts';
import { ClusterStats } from '../../src/cluster/cluster-stats.ts';
import { clusterKeys } from '../../src/cluster/keys.ts';
import { claimValue, parseClaim } from '../../src/cluster/records.ts';
import { RedisLink } from '../../src/cluster/redis-link.ts';
import { createLogger } from '../../src/log.ts';
import { waitFor } from '../support/cluster.ts';
import { NO_REDIS, RedisServer } from '../support/redis-server.ts';

/**
 * The claim rules against a real redis-server: atomic claims, compare-and-extend, compare-and-
 * delete, re-claiming after Redis comes back, and the loser of an id taken during an outage.
 * Heartbeats are called by the test (no timers), so the order of events is the test's.
 */
describe('stream claims in Redis', { skip: NO_REDIS }, () => {
  const log = createLogger('test', process.env.AVLOC_TEST_DEBUG ? 'debug' : 'silent');
  const ttlMs = 1000;
  let redis: RedisServer;
  let admin: Redis;
  const links: RedisLink[] = [];

  interface Node {
    readonly book: ClaimBook;
    readonly link: RedisLink;
    readonly lost: Array<[string, string]>;
    readonly stats: ClusterStats;
  }
  const keys = clusterKeys(`c${randomBytes(4).toString('hex')}:`);
  const nodeNamed = async (node: string): Promise<Node> => {
    const link = new RedisLink({ url: redis.url, node, commandTimeoutMs: 1000, log });
    links.push(link);
    link.start();
    await waitFor(`${node} to reach Redis`, () => link.state === 'up');
    const lost: Array<[string, string]> = [];
    const stats = new ClusterStats();
    const book = new ClaimBook({
      link,
      keys,
      node,
      ttlMs,
      stats,
      log,
      summaryOf: () => undefined,
      remoteHolder: () => undefined,
      onLost: (id, holder) => lost.push([id, holder]),
    });
    return { book, link, lost, stats };
  };
  const holderOf = async (id: string) => parseClaim(await admin.get(keys.claim(id)))?.node;

  before(async () => {
    redis = await RedisServer.launch();
    admin = new Redis(redis.url, { maxRetriesPerRequest: 0, retryStrategy: () => 100 });
    admin.on('error', () => {});
  });

  after(async () => {
    await Promise.all(links.map((l) => l.close()));
    admin?.disconnect();
    await redis?.dispose();
  });

  test('of two nodes claiming one id at once exactly one wins; the other is told which node has it', async () => {
    const [n1, n2] = await Promise.all([nodeNamed('n1'), nodeNamed('n2')]);
    const [a, b] = await Promise.all([n1.book.claim('race', 'rtmp'), n2.book.claim('race', 'whip')]);
    const winners = [a, b].filter((o) => o.refused === null);
    assert.equal(winners.length, 1, `outcomes ${JSON.stringify([a, b])}`);
    const holder = await holderOf('race');
    const loser = a.refused === null ? b : a;
    assert.match(String(loser.refused), new RegExp(`live on node ${holder}`));
    assert.ok((await admin.pttl(keys.claim('race'))) > 0, 'the claim has a TTL');
  });

  test('a heartbeat keeps a claim alive past its TTL; release deletes only the releaser\u2019s own claim', async () => {
    const n1 = await nodeNamed('k1');
    const out = await n1.book.claim('kept', 'rtmp');
    assert.equal(out.refused, null);
    assert.equal(n1.book.confirm('kept', 'rtmp'), true);
    const until = Date.now() + ttlMs * 2.5;
    while (Date.now() < until) {
      await n1.book.heartbeat();
      await new Promise((r) => setTimeout(r, ttlMs / 4));
    }
    assert.equal(await holderOf('kept'), 'k1', 'still held after 2.5 TTLs of heartbeats');
    // Someone else's value under the key: the heartbeat must not extend it, and reports it lost.
    const foreign = claimValue('other', 'x', 'rtmp', Date.now());
    await admin.set(keys.claim('kept'), foreign, 'PX', 60_000);
    await n1.book.heartbeat();
    assert.deepEqual(n1.lost, [['kept', 'other']]);
    assert.equal(n1.stats.claimsLost, 1);
    n1.book.release('kept');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await admin.get(keys.claim('kept')), foreign, 'release never deletes another node\u2019s claim');
    // Its own claim it does delete.
    assert.equal((await n1.book.claim('mine', 'rtmp')).refused, null);
    n1.book.release('mine');
    await waitFor('the released claim to be deleted', async () => (await admin.exists(keys.claim('mine'))) === 0, 5000);
  });

  test('a claim left behind by an earlier life of the same node is taken over at once', async () => {
    await admin.set(keys.claim('orphan'), claimValue('same', 'earlier-life', 'rtmp', Date.now()), 'PX', 60_000);
    const n = await nodeNamed('same');
    assert.equal((await n.book.claim('orphan', 'rtmp')).refused, null);
    assert.equal(parseClaim(await admin.get(keys.claim('orphan')))?.claim, n.book.claimIdOf('orphan'));
  });

  test('without Redis both nodes admit the id locally; when it returns the first to claim keeps it and the other loses it', async () => {
    const [n1, n2] = await Promise.all([nodeNamed('o1'), nodeNamed('o2')]);
    await redis.stop();
    await waitFor('both links to notice', () => n1.link.state === 'down' && n2.link.state === 'down', 10_000);
    const [a, b] = await Promise.all([n1.book.claim('split', 'rtmp'), n2.book.claim('split', 'rtmp')]);
    assert.deepEqual([a.refused, b.refused], [null, null], 'admitted locally while Redis is away');
    n1.book.confirm('split', 'rtmp');
    n2.book.confirm('split', 'rtmp');
    assert.equal(n1.stats.admittedOffline, 1);
    await redis.start();   // empty
    await waitFor('both links to come back', () => n1.link.state === 'up' && n2.link.state === 'up', 15_000);
    await n2.book.heartbeat();   // o2 claims first…
    await n1.book.heartbeat();   // …so o1 finds it taken
    assert.equal(await holderOf('split'), 'o2');
    assert.deepEqual(n1.lost, [['split', 'o2']]);
    assert.deepEqual(n2.lost, []);
    assert.equal(n1.book.confirm('split', 'rtmp'), false, 'a lost id cannot start a stream');
  });
});

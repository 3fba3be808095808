import type { MetricsRegistry } from '../../publish/metrics.ts';
import type { RemoteStats } from './remote-stats.ts';

/**
 * The remote backend's counters on /metrics (docs/PROTOCOL.md), read from its live RemoteStats
 * at each scrape. Registered only on a node with `model.remote`.
 */
export function registerRemoteMetrics(registry: MetricsRegistry, stats: Readonly<RemoteStats>): void {
  const requests = registry.counter(
    'avloc_remote_requests_total',
    'Remote inference requests by outcome: ok, timeout (missed model.remote.timeoutMs, dropped), refused (model.remote.maxInFlight reached, dropped), failed, closed.',
  );
  const retries = registry.counter('avloc_remote_retries_total', 'Remote inference requests sent a second time after a refused connection.');
  const inFlight = registry.gauge('avloc_remote_in_flight', 'Remote inference requests out now.');
  registry.onCollect(() => {
    requests.set({ outcome: 'ok' }, stats.ok);
    requests.set({ outcome: 'timeout' }, stats.timedOut);
    requests.set({ outcome: 'refused' }, stats.refused);
    requests.set({ outcome: 'failed' }, stats.failed);
    requests.set({ outcome: 'closed' }, stats.closed);
    retries.set({}, stats.retried);
    inFlight.set({}, stats.inFlight);
  });
}

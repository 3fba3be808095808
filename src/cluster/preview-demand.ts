/**
 * Which of this node's streams some other node wants previews of. A node whose clients want
 * previews of a stream subscribes to that stream's (silent) `pv:<id>` channel, or to `pv-all` for
 * clients subscribed to everything (listener.ts); the owner counts subscribers with PUBSUB NUMSUB
 * at each poll, less its own connection. Nobody asking: heatmaps go out without their JPEG.
 */
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './keys.ts';

export class PreviewDemand {
  private all = false;
  private readonly wanted = new Set<string>();

  wants(id: string): boolean {
    return this.all || this.wanted.has(id);
  }

  /** `ownSubscribed(channel)`: whether this node's own subscriber connection is on it. */
  async refresh(cmd: Redis, keys: ClusterKeys, localIds: readonly string[], ownSubscribed: (channel: string) => boolean): Promise<void> {
    if (localIds.length === 0) {
      this.all = false;
      this.wanted.clear();
      return;
    }
    const channels = [keys.previewWantedAll, ...localIds.map((id) => keys.previewWanted(id))];
    const reply = await cmd.pubsub('NUMSUB', ...channels);
    const others = (channel: string, n: unknown): number => Number(n) - (ownSubscribed(channel) ? 1 : 0);
    let all = false;
    const wanted = new Set<string>();
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const channel = String(reply[i]);
      if (others(channel, reply[i + 1]) <= 0) continue;
      if (channel === keys.previewWantedAll) all = true;
      else {
        const id = channel.slice(keys.previewWanted('').length);
        if (id) wanted.add(id);
      }
    }
    this.all = all;
    this.wanted.clear();
    for (const id of wanted) this.wanted.add(id);
  }
}

import type { MediaEvent } from '../../src/pipeline/av-sync.ts';

/**
 * Tiny av-sync inputs for stream `s1`. With 1000 Hz audio and a 10 ms window the numbers stay
 * readable: sample i is at i ms.
 */
export const AV_SYNC_OPTS = { sampleRate: 1000, windowSeconds: 0.01, hasAudio: true, audioWaitMs: 50 } as const;

export const frameEvent = (index: number, ptsMs: number): MediaEvent => ({
  type: 'frame',
  frame: { streamId: 's1', index, ptsMs, decodedAtMs: 0, captureAtMs: 0, width: 1, height: 1, rgb: new Uint8Array(3) },
});

export const audioEvent = (ptsMs: number, n: number, value = 1): MediaEvent => ({
  type: 'audio',
  chunk: { streamId: 's1', ptsMs, sampleRate: 1000, samples: new Float32Array(n).fill(value) },
});

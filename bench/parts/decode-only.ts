import type { LiveDecoderSettings } from '../../src/app/decoder-settings.ts';
import { Decoder } from '../../src/media/decoder.ts';
import { createLogger } from '../../src/log.ts';
import type { MediaFile } from '../harness/media-file.ts';

/**
 * Decode-only ceiling: N of the service's own Decoders (live mode and the service's preview and
 * frame-cap settings, so the same ffmpeg command line) reading the bench's file in real time
 * (`-re -stream_loop -1`, as a publisher sends it), no model and no service. Frames per second in
 * total over a window that starts once every stream has produced a frame.
 */
export interface DecodeOnlyOptions {
  readonly media: MediaFile;
  readonly ffmpegPath: string;
  readonly width: number;
  readonly height: number;
  readonly sampleRate: number;
  readonly settings: LiveDecoderSettings;
  readonly streams: number;
  readonly seconds: number;
}

export interface DecodeOnlyResult {
  readonly streams: number;
  readonly seconds: number;
  readonly framesPerS: number;
  readonly notes: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function measureDecodeOnly(o: DecodeOnlyOptions): Promise<DecodeOnlyResult> {
  const logger = createLogger('decode-only', 'warn');
  const notes: string[] = [];
  const counts = new Array<number>(o.streams).fill(0);
  const decoders: Decoder[] = [];
  for (let i = 0; i < o.streams; i++) {
    const d = new Decoder({
      source: { id: `decode-${i}`, ffmpegInput: ['-re', '-stream_loop', '-1', '-i', o.media.path], live: true },
      width: o.width,
      height: o.height,
      sampleRate: o.sampleRate,
      // As StreamSession passes them to its Decoder.
      previewHeight: o.settings.previewHeight,
      ...(o.settings.previewFps !== undefined ? { previewFps: o.settings.previewFps } : {}),
      ...(o.settings.maxFps !== undefined ? { selectFps: o.settings.maxFps } : {}),
      ffmpegPath: o.ffmpegPath,
      logger,
    });
    d.frames$.subscribe(() => {
      counts[i] = (counts[i] ?? 0) + 1;
    });
    d.audio$.subscribe(() => undefined);
    d.events$.subscribe((e) => {
      if (e.type === 'error') notes.push(`decoder ${i}: ${e.error.message}`);
    });
    decoders.push(d);
  }
  try {
    for (const d of decoders) d.start();
    const deadline = Date.now() + 20_000;
    while (counts.some((c) => c === 0) && Date.now() < deadline) await sleep(100);
    if (counts.some((c) => c === 0)) notes.push(`only ${counts.filter((c) => c > 0).length}/${o.streams} decoders produced frames within 20 s`);
    await sleep(1000);
    const before = counts.reduce((a, b) => a + b, 0);
    const t0 = performance.now();
    await sleep(o.seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const after = counts.reduce((a, b) => a + b, 0);
    return { streams: o.streams, seconds: elapsed, framesPerS: (after - before) / elapsed, notes };
  } finally {
    await Promise.all(decoders.map((d) => d.close()));
  }
}

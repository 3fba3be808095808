import type { Config } from '../config/schema.ts';

/**
 * The per-stream decoder options a live service derives from its config (previews and the
 * analyzed-frame cap). One place, so the service and anything that must decode exactly like it
 * (the bench's decode-only ceiling) build the same ffmpeg command line.
 */
export interface LiveDecoderSettings {
  /** JPEG preview height, or null for none. */
  readonly previewHeight: number | null;
  /** Previews per second at most (undefined: one with every frame). */
  readonly previewFps?: number;
  /** Analyzed frames per second at most (undefined: every frame). */
  readonly maxFps?: number;
}

export function liveDecoderSettings(config: Pick<Config, 'preview' | 'pipeline'>): LiveDecoderSettings {
  return {
    previewHeight: config.preview.enabled ? config.preview.height : null,
    ...(config.preview.maxFps > 0 ? { previewFps: config.preview.maxFps } : {}),
    ...(config.pipeline.maxFpsPerStream > 0 ? { maxFps: config.pipeline.maxFpsPerStream } : {}),
  };
}

import { basename } from 'node:path';
import type { Source } from '../media/source.ts';

/**
 * Anything ffmpeg reads (a file path or a URL) as a Source for offline analysis: `live: false`, so
 * the decoder reads it as fast as it can, probes it fully and never restarts it.
 */
export function fileSource(input: string): Source {
  const name = /^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? (input.split(/[?#]/)[0] ?? input) : input;
  return {
    id: basename(name) || 'input',
    kind: 'file',
    ffmpegInput: ['-i', input],
    live: false,
    startedAtMs: Date.now(),
    close: async () => undefined,
  };
}

/**
 * URLs for an ffmpeg that cannot resolve host names. A statically linked glibc build (the one npm
 * ships) has no name service: `rtmp://localhost/…` crashes it. So avloc resolves the host in Node
 * (dns.lookup, IPv4 first: the listeners default to 127.0.0.1) and hands it the address.
 * Other builds get the URL as it is (a name matters to TLS and to HTTP virtual hosts).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { AvlocError } from '../errors.ts';
import { ffmpegInfo } from './ffmpeg-probe.ts';

/** `url` with its host name replaced by an address (unchanged when it has none, or holds an IP). */
export async function withAddress(url: string): Promise<string> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;      // a file path, or something ffmpeg parses itself
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (host === '' || isIP(host) !== 0) return url;
  let address: string;
  try {
    const all = await lookup(host, { all: true });
    address = (all.find((a) => a.family === 4) ?? all[0])?.address ?? '';
    if (address === '') throw new Error('no address');
  } catch (err) {
    throw new AvlocError('CONFIG_INVALID', `cannot resolve host "${host}" of ${u.protocol}// URL: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  // URL serialises the rest (path, query with a token) unchanged; only the host part is swapped.
  u.hostname = isIP(address) === 6 ? `[${address}]` : address;
  return u.toString();
}

/** The URL to give `ffmpegPath`: resolved in Node when that binary cannot resolve names itself. */
export async function urlForFfmpeg(url: string, ffmpegPath: string): Promise<string> {
  return ffmpegInfo(ffmpegPath).isStatic ? withAddress(url) : url;
}

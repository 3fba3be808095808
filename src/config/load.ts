import { readFileSync } from 'node:fs';
import type { ZodError } from 'zod';
import { AvlocError } from '../errors.ts';
import { configSchema } from './schema.ts';
import type { Config } from './schema.ts';

/**
 * Configuration layers, lowest first: schema defaults ← JSON file ← environment ← flags.
 * Each layer is a partial object; the merged result is validated once so every message
 * names the exact key and the layer cannot matter for what is accepted.
 */
export interface ConfigSources {
  /** Path of a JSON config file (flag --config or env AVLOC_CONFIG). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Already-parsed overrides from command-line flags, in the schema's shape. */
  flags?: Record<string, unknown>;
}

type Tree = Record<string, unknown>;

/** Environment variables that map onto config keys; numbers and booleans are coerced. */
const ENV_KEYS: Record<string, string> = {
  AVLOC_HTTP_HOST: 'http.host',
  AVLOC_HTTP_PORT: 'http.port',
  AVLOC_RTMP_HOST: 'rtmp.host',
  AVLOC_RTMP_PORT: 'rtmp.port',
  AVLOC_RTMP_ENABLED: 'rtmp.enabled',
  AVLOC_MODEL: 'model.dir',
  AVLOC_DEVICE: 'model.device',
  AVLOC_INTRA_OP_THREADS: 'model.intraOpThreads',
  AVLOC_REMOTE_URL: 'model.remote.url',
  AVLOC_REMOTE_TOKEN: 'model.remote.token',
  AVLOC_MAX_BATCH: 'pipeline.maxBatch',
  AVLOC_MAX_STREAMS: 'limits.maxStreams',
  AVLOC_MAX_FPS_PER_STREAM: 'pipeline.maxFpsPerStream',
  AVLOC_MAX_WAIT_MS: 'pipeline.maxWaitMs',
  AVLOC_DEADLINE_MS: 'pipeline.deadlineMs',
  AVLOC_AUDIO_CADENCE_MS: 'pipeline.audioCadenceMs',
  AVLOC_PREVIEW: 'preview.enabled',
  AVLOC_VIEWER_DIR: 'viewer.dir',
  AVLOC_AUTH_SECRET: 'auth.secret',
  AVLOC_AUTH_JWKS_URL: 'auth.jwksUrl',
  AVLOC_ALLOW_ANONYMOUS: 'auth.allowAnonymous',
  AVLOC_ALLOWED_ORIGINS: 'http.allowedOrigins',
  AVLOC_REDIS_URL: 'cluster.redis',
  AVLOC_NODE_ID: 'cluster.nodeId',
};

/** Keys whose variable is never coerced (a secret of digits stays a string). */
const ENV_STRINGS = new Set(['auth.secret', 'model.remote.token', 'model.remote.url', 'cluster.redis', 'cluster.nodeId']);
/** Keys whose variable is a comma-separated list. */
const ENV_LISTS = new Set(['http.allowedOrigins']);

export function setPath(tree: Tree, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next === 'object' && next !== null) node = next as Tree;
    else node = node[key] = {};
  }
  node[keys[keys.length - 1] as string] = value;
}

function coerce(raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
  return raw;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    const bothObjects =
      typeof v === 'object' && v !== null && !Array.isArray(v) && typeof prev === 'object' && prev !== null;
    out[k] = bothObjects ? merge(prev as Tree, v as Tree) : v;
  }
  return out;
}

function readFileLayer(path: string): Tree {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new AvlocError('CONFIG_INVALID', `cannot read config file ${path}`, { cause });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new Error('top level must be an object');
    }
    return parsed as Tree;
  } catch (cause) {
    throw new AvlocError('CONFIG_INVALID', `config file ${path} is not a JSON object: ${(cause as Error).message}`, {
      cause,
    });
  }
}

function envLayer(env: NodeJS.ProcessEnv): Tree {
  const tree: Tree = {};
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const value = ENV_LISTS.has(key) ? raw.split(',').map((x) => x.trim()).filter((x) => x !== '') : ENV_STRINGS.has(key) ? raw : coerce(raw);
    setPath(tree, key, value);
  }
  return tree;
}

function formatIssues(err: ZodError): string {
  return err.issues
    .map((i) => `  ${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('\n');
}

export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const file = sources.file ?? env.AVLOC_CONFIG;
  let tree: Tree = {};
  if (file) tree = merge(tree, readFileLayer(file));
  tree = merge(tree, envLayer(env));
  if (sources.flags) tree = merge(tree, sources.flags);
  const result = configSchema.safeParse(tree);
  if (!result.success) {
    throw new AvlocError('CONFIG_INVALID', `invalid configuration:\n${formatIssues(result.error)}`);
  }
  return result.data;
}

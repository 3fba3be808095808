import type { ParseArgsConfig } from 'node:util';

/**
 * The one table of settings that can be set from outside a config file: the config key, its
 * environment variable and its command-line flag. The schema (schema.ts) holds every default and
 * every bound; this table only says how a value reaches it, so a flag, a variable and a file
 * entry for the same key can never disagree about its name or its type.
 */
export type SettingKind = 'number' | 'string' | 'boolean' | 'list';

export interface Setting {
  /** Dotted config key, as in the schema. */
  readonly key: string;
  readonly kind: SettingKind;
  readonly env?: string;
  /** `avloc serve` flag (without dashes). */
  readonly flag?: string;
  /** A boolean flag that turns the key off (`--no-preview` sets preview.enabled = false). */
  readonly invert?: boolean;
  /** `avloc analyze` takes the flag too. */
  readonly analyze?: boolean;
  /** An older name of the flag that still works. */
  readonly alias?: string;
}

export const SETTINGS: readonly Setting[] = [
  { key: 'http.host', kind: 'string', env: 'AVLOC_HTTP_HOST', flag: 'http-host' },
  { key: 'http.port', kind: 'number', env: 'AVLOC_HTTP_PORT', flag: 'http-port' },
  { key: 'http.allowedOrigins', kind: 'list', env: 'AVLOC_ALLOWED_ORIGINS' },
  { key: 'http.rateLimit.max', kind: 'number', env: 'AVLOC_RATE_LIMIT_MAX' },
  { key: 'rtmp.host', kind: 'string', env: 'AVLOC_RTMP_HOST', flag: 'rtmp-host' },
  { key: 'rtmp.port', kind: 'number', env: 'AVLOC_RTMP_PORT', flag: 'rtmp-port' },
  { key: 'rtmp.enabled', kind: 'boolean', env: 'AVLOC_RTMP_ENABLED' },
  { key: 'model.dir', kind: 'string', env: 'AVLOC_MODEL', flag: 'model', analyze: true },
  { key: 'model.device', kind: 'string', env: 'AVLOC_DEVICE', flag: 'device', analyze: true },
  { key: 'model.intraOpThreads', kind: 'number', env: 'AVLOC_INTRA_OP_THREADS', flag: 'intra-op-threads', analyze: true },
  { key: 'model.worker', kind: 'boolean', flag: 'no-worker', invert: true },
  { key: 'model.remote.url', kind: 'string', env: 'AVLOC_REMOTE_URL' },
  { key: 'model.remote.token', kind: 'string', env: 'AVLOC_REMOTE_TOKEN' },
  { key: 'pipeline.maxBatch', kind: 'number', env: 'AVLOC_MAX_BATCH', flag: 'max-batch', analyze: true },
  { key: 'pipeline.maxWaitMs', kind: 'number', env: 'AVLOC_MAX_WAIT_MS', flag: 'max-wait-ms' },
  { key: 'pipeline.deadlineMs', kind: 'number', env: 'AVLOC_DEADLINE_MS', flag: 'deadline-ms' },
  { key: 'pipeline.audioCadenceMs', kind: 'number', env: 'AVLOC_AUDIO_CADENCE_MS', flag: 'audio-cadence-ms' },
  { key: 'pipeline.maxFpsPerStream', kind: 'number', env: 'AVLOC_MAX_FPS_PER_STREAM', flag: 'max-fps-per-stream' },
  { key: 'pipeline.adaptiveRate', kind: 'boolean', env: 'AVLOC_ADAPTIVE_RATE', flag: 'no-adaptive-rate', invert: true },
  { key: 'pipeline.adaptiveBatch', kind: 'boolean', env: 'AVLOC_ADAPTIVE_BATCH', flag: 'no-adaptive-batch', invert: true },
  { key: 'limits.maxStreams', kind: 'number', env: 'AVLOC_MAX_STREAMS', flag: 'max-streams' },
  { key: 'preview.enabled', kind: 'boolean', env: 'AVLOC_PREVIEW', flag: 'no-preview', invert: true },
  { key: 'viewer.dir', kind: 'string', env: 'AVLOC_VIEWER_DIR', flag: 'viewer-dir' },
  { key: 'auth.secret', kind: 'string', env: 'AVLOC_AUTH_SECRET' },
  { key: 'auth.jwksUrl', kind: 'string', env: 'AVLOC_AUTH_JWKS_URL' },
  { key: 'auth.allowAnonymous', kind: 'boolean', env: 'AVLOC_ALLOW_ANONYMOUS', flag: 'allow-anonymous' },
  { key: 'cluster.redis', kind: 'string', env: 'AVLOC_REDIS_URL', flag: 'cluster', alias: 'redis' },
  { key: 'cluster.nodeId', kind: 'string', env: 'AVLOC_NODE_ID', flag: 'node-id' },
];

export type Tree = Record<string, unknown>;

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

/**
 * Text to a value of the setting's kind. A value that does not parse is passed on as it is, so
 * the schema rejects it with the key named; strings are never coerced (a secret of digits stays
 * a string).
 */
function fromText(kind: SettingKind, raw: string): unknown {
  switch (kind) {
    case 'string':
      return raw;
    case 'list':
      return raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
    case 'boolean':
      return raw === 'true' ? true : raw === 'false' ? false : raw;
    case 'number':
      return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  }
}

/** The environment's layer of the config (unset and empty variables are not there). */
export function envOverrides(env: NodeJS.ProcessEnv): Tree {
  const tree: Tree = {};
  for (const s of SETTINGS) {
    const raw = s.env === undefined ? undefined : env[s.env];
    if (raw === undefined || raw === '') continue;
    setPath(tree, s.key, fromText(s.kind, raw));
  }
  return tree;
}

export type FlagCommand = 'serve' | 'analyze';

function flagsOf(command: FlagCommand): Setting[] {
  return SETTINGS.filter((s) => s.flag !== undefined && (command === 'serve' || s.analyze === true));
}

/** `parseArgs` options for the command's settings (booleans are switches, the rest take a value). */
export function flagOptions(command: FlagCommand): NonNullable<ParseArgsConfig['options']> {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const s of flagsOf(command)) {
    const type = s.kind === 'boolean' ? 'boolean' : 'string';
    options[s.flag as string] = { type };
    if (s.alias !== undefined) options[s.alias] = { type };
  }
  return options;
}

/** The flags' layer of the config from parsed `values`. */
export function flagOverrides(command: FlagCommand, values: Readonly<Record<string, unknown>>): Tree {
  const tree: Tree = {};
  for (const s of flagsOf(command)) {
    const v = values[s.flag as string] ?? (s.alias !== undefined ? values[s.alias] : undefined);
    if (v === undefined) continue;
    if (s.kind === 'boolean') setPath(tree, s.key, s.invert ? !v : v);
    else setPath(tree, s.key, fromText(s.kind, String(v)));
  }
  return tree;
}

/** The environment variables of the table, for the usage text. */
export function envNames(): string[] {
  return SETTINGS.flatMap((s) => (s.env === undefined ? [] : [s.env]));
}

import { readFileSync } from 'node:fs';
import type { ZodError } from 'zod';
import { AvlocError } from '../errors.ts';
import { configSchema } from './schema.ts';
import { envOverrides, type Tree } from './settings.ts';
import type { Config } from './schema.ts';

/**
 * Configuration layers, lowest first: schema defaults ← JSON file ← environment ← flags (the
 * variables and flags are those of the table in settings.ts).
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
  tree = merge(tree, envOverrides(env));
  if (sources.flags) tree = merge(tree, sources.flags);
  const result = configSchema.safeParse(tree);
  if (!result.success) {
    throw new AvlocError('CONFIG_INVALID', `invalid configuration:\n${formatIssues(result.error)}`);
  }
  return result.data;
}

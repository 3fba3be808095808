import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { resolveConfigPath } from './app/paths.ts';
import { loadConfig } from './config/load.ts';
import { envNames, flagOptions, flagOverrides } from './config/settings.ts';
import { AvlocError, describeError } from './errors.ts';
import { createLogger } from './log.ts';

/**
 * `avloc <command>`: parses flags into config overrides and hands over to the command.
 * Only this file and server.ts know about both ends of the service.
 */
/** Names joined and wrapped under the usage text's "Environment:" column. */
function wrap(names: readonly string[]): string {
  const lines: string[] = [];
  let line = '';
  for (const n of names) {
    if (line !== '' && line.length + n.length > 86) {
      lines.push(`${line},`);
      line = n;
    } else line = line === '' ? n : `${line}, ${n}`;
  }
  return [...lines, line].join('\n             ');
}

const USAGE = `avloc — real-time sound-source localization for live camera streams

Usage:
  avloc serve   [--config FILE] [--model DIR] [--device cpu|cuda] [--http-port N] [--rtmp-port N]
                [--http-host ADDR] [--rtmp-host ADDR] [--allow-anonymous]
                [--max-batch N] [--max-wait-ms N] [--deadline-ms N] [--audio-cadence-ms N] [--max-fps-per-stream N]
                [--max-streams N] [--intra-op-threads N] [--viewer-dir DIR]
                [--no-preview] [--no-worker] [--cluster redis://HOST:6379] [--node-id NAME]
                (--cluster: cluster mode, every node on one Redis; --redis is the same flag)
  avloc token   [--publish ID]... [--subscribe PATTERN]... [--admin] [--ttl SECONDS] [--subject NAME]
                (signs a token with auth.secret / AVLOC_AUTH_SECRET; patterns may use *)
  avloc publish SOURCE [RTMP_URL] [--loop] [--token T] [--seconds N]
                (SOURCE: a media file, testsrc or camera; RTMP_URL default rtmp://localhost:1935/live/<name>)
  avloc watch   [WS_URL] [--stream ID] [--json] [--token T]
  avloc analyze FILE|URL [--out overlay.mp4] [--json track.jsonl] [--fps N] [--model DIR]
                [--device cpu|cuda] [--max-batch N] [--intra-op-threads N] [--overlay-height N] [--config FILE]
                (every frame, or N per second, as fast as the machine allows; default outputs
                 NAME.avloc.mp4 and NAME.avloc.jsonl in the current folder)
  avloc export triton --model DIR --out REPO [--max-batch N] [--queue-delay-us N]
                (a Triton Inference Server model repository for a bundle: one model per graph)
  avloc help

Environment: AVLOC_CONFIG, ${wrap(envNames())},
             AVLOC_TOKEN (watch, publish), AVLOC_LOG_LEVEL (debug|info|warn|error), AVLOC_LOG_FORMAT (json|pretty),
             FFMPEG_PATH. See README.md.`;

function parseServeFlags(args: string[]): { file?: string; flags: Record<string, unknown> } {
  const options: ParseArgsConfig['options'] = { config: { type: 'string' }, ...flagOptions('serve') };
  const { values } = parseArgs({ args, options, strict: true, allowPositionals: false });
  if (values.cluster !== undefined && values.redis !== undefined && values.cluster !== values.redis) {
    throw new AvlocError('CONFIG_INVALID', `--cluster and --redis name one setting (--redis is the old name); got "${String(values.cluster)}" and "${String(values.redis)}"`);
  }
  const flags = flagOverrides('serve', values);
  const file = typeof values.config === 'string' ? values.config : undefined;
  return file === undefined ? { flags } : { file, flags };
}

async function serve(args: string[]): Promise<void> {
  const { file, flags } = parseServeFlags(args);
  const config = loadConfig(file === undefined ? { flags } : { file, flags });
  const { startServer } = await import('./server.ts');
  const server = await startServer(config, createLogger('avloc'));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: shutting down\n`);
    // close() waits for every decoder's ffmpeg to exit (SIGTERM, then SIGKILL after a grace);
    // should anything still hang, the process does not.
    setTimeout(() => {
      process.stderr.write('shutdown took over 15 s; exiting anyway\n');
      process.exit(1);
    }, 15_000).unref();
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function watch(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { stream: { type: 'string', multiple: true }, json: { type: 'boolean' }, token: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const { watchHeatmaps } = await import('./publish/watch.ts');
  const url = new URL(positionals[0] ?? 'ws://127.0.0.1:8080/ws');
  const token = values.token ?? process.env.AVLOC_TOKEN;
  if (token) url.searchParams.set('token', token);
  await watchHeatmaps({
    url: url.toString(),
    streams: values.stream && values.stream.length > 0 ? values.stream : '*',
    json: values.json === true,
  });
}

async function publishCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { loop: { type: 'boolean' }, token: { type: 'string' }, seconds: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  const [source, url] = positionals;
  if (source === undefined || positionals.length > 2) throw new AvlocError('CONFIG_INVALID', `publish needs a SOURCE (a media file, testsrc or camera) and at most one URL\n\n${USAGE}`);
  const seconds = values.seconds === undefined ? undefined : Number(values.seconds);
  if (seconds !== undefined && !(seconds > 0)) throw new AvlocError('CONFIG_INVALID', `--seconds must be a positive number, got "${values.seconds}"`);
  const token = values.token ?? process.env.AVLOC_TOKEN;
  const port = Number(process.env.AVLOC_HTTP_PORT);
  const { publish } = await import('./media/publisher.ts');
  const controller = new AbortController();
  process.on('SIGINT', () => controller.abort());
  process.on('SIGTERM', () => controller.abort());
  await publish({
    source,
    ...(url !== undefined ? { url } : {}),
    loop: values.loop === true,
    ...(token ? { token } : {}),
    ...(seconds !== undefined ? { seconds } : {}),
    ...(port > 0 ? { httpPort: port } : {}),
    signal: controller.signal,
  });
}

async function exportCommand(args: string[]): Promise<void> {
  const [target, ...rest] = args;
  if (target !== 'triton') throw new AvlocError('CONFIG_INVALID', `export knows one target, triton (got ${target ?? 'none'})\n\n${USAGE}`);
  const { values } = parseArgs({
    args: rest,
    options: { model: { type: 'string' }, out: { type: 'string' }, 'max-batch': { type: 'string' }, 'queue-delay-us': { type: 'string' } },
    allowPositionals: false,
    strict: true,
  });
  if (!values.out) throw new AvlocError('CONFIG_INVALID', 'export triton needs --out REPO (the model repository folder to write)');
  const modelDir = resolveConfigPath(values.model ?? loadConfig().model.dir);
  const { exportTriton } = await import('./inference/triton-export.ts');
  const names = await exportTriton({
    modelDir,
    outDir: values.out,
    ...(values['max-batch'] !== undefined ? { maxBatch: Number(values['max-batch']) } : {}),
    ...(values['queue-delay-us'] !== undefined ? { queueDelayUs: Number(values['queue-delay-us']) } : {}),
  });
  process.stdout.write(`wrote ${names.map((n) => `${values.out}/${n}`).join(', ')}\n`);
}

async function token(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      publish: { type: 'string', multiple: true },
      subscribe: { type: 'string', multiple: true },
      admin: { type: 'boolean' },
      ttl: { type: 'string' },
      subject: { type: 'string' },
      config: { type: 'string' },
    },
    allowPositionals: false,
    strict: true,
  });
  const config = loadConfig(values.config === undefined ? {} : { file: values.config });
  if (!config.auth.secret) throw new AvlocError('CONFIG_INVALID', 'avloc token needs auth.secret (or AVLOC_AUTH_SECRET) to sign with');
  const publish = values.publish ?? [];
  const subscribe = values.subscribe ?? [];
  if (publish.length === 0 && subscribe.length === 0 && !values.admin) {
    throw new AvlocError('CONFIG_INVALID', 'say what the token grants: --publish ID, --subscribe PATTERN and/or --admin');
  }
  const ttlSeconds = values.ttl === undefined ? 3600 : Number(values.ttl);
  const { signToken } = await import('./auth/tokens.ts');
  const jwt = await signToken(config.auth.secret, {
    publish,
    subscribe,
    admin: values.admin === true,
    ttlSeconds,
    ...(values.subject ? { subject: values.subject } : {}),
  }).catch((err: unknown) => {
    throw err instanceof AvlocError ? err : new AvlocError('CONFIG_INVALID', `cannot sign the token: ${describeError(err)}`);
  });
  process.stdout.write(`${jwt}\n`);
}

async function analyze(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      out: { type: 'string' },
      json: { type: 'string' },
      fps: { type: 'string' },
      'overlay-height': { type: 'string' },
      config: { type: 'string' },
      ...flagOptions('analyze'),
    },
    allowPositionals: true,
    strict: true,
  });
  const input = positionals[0];
  if (positionals.length !== 1 || input === undefined) throw new AvlocError('CONFIG_INVALID', `analyze needs exactly one input file or URL\n\n${USAGE}`);
  const flags = flagOverrides('analyze', values);
  const config = loadConfig(values.config === undefined ? { flags } : { file: values.config, flags });
  const positive = (name: string, v: string | undefined): number | null => {
    if (v === undefined) return null;
    const n = Number(v);
    if (!(n > 0)) throw new AvlocError('CONFIG_INVALID', `--${name} must be a positive number, got "${v}"`);
    return n;
  };
  // Neither output named: write both, named after the input, in the current folder.
  const stem = (input.split(/[?#]/)[0] ?? input).replace(/\/+$/, '').split('/').pop()?.replace(/\.[^.]*$/, '') || 'analysis';
  const both = values.out === undefined && values.json === undefined;
  const { analyzeFile } = await import('./offline/analyze.ts');
  const controller = new AbortController();
  // `on`, not `once`: a second Ctrl-C must not kill the process before it has deleted its outputs.
  const stop = (signal: string) => {
    if (controller.signal.aborted) return;
    process.stderr.write(`\n${signal}: stopping; partial outputs are deleted\n`);
    controller.abort();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  const overlayHeight = positive('overlay-height', values['overlay-height']);
  const summary = await analyzeFile({
    input,
    outPath: values.out ?? (both ? `${stem}.avloc.mp4` : null),
    jsonPath: values.json ?? (both ? `${stem}.avloc.jsonl` : null),
    fps: positive('fps', values.fps),
    config,
    ...(overlayHeight !== null ? { overlayHeight } : {}),
    log: createLogger('avloc', process.env.AVLOC_LOG_LEVEL ? undefined : 'warn'),
    signal: controller.signal,
  }).catch((err: unknown) => {
    if (!controller.signal.aborted) throw err;
    process.stderr.write('avloc: interrupted; no output was written\n');
    process.exit(130);
  });
  const wrote = [summary.outPath, summary.jsonPath].filter((p) => p !== null).join(', ');
  process.stderr.write(
    `analyzed ${summary.analyzed} of ${summary.decoded} frames in ${(summary.analysisMs / 1000).toFixed(1)} s ` +
      `(${summary.fps.toFixed(1)} frames/s, mean batch ${summary.meanBatch.toFixed(1)}, model ${summary.model} on ${summary.device}); wrote ${wrote}\n`,
  );
  if (summary.audioLate > 0) {
    process.stderr.write(`note: ${summary.audioLate} frames had their audio window cut short (the input's audio ends before its video)\n`);
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'watch':
      return watch(rest);
    case 'token':
      return token(rest);
    case 'publish':
      return publishCommand(rest);
    case 'export':
      return exportCommand(rest);
    case 'analyze':
      return analyze(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      throw new AvlocError('CONFIG_INVALID', `unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`avloc: ${describeError(err)}\n`);
  process.exit(err instanceof AvlocError && err.code === 'CONFIG_INVALID' ? 2 : 1);
});

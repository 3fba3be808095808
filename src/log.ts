/**
 * Structured logs through pino: JSON lines (`level`, `time`, `scope`, `msg` and the fields) by
 * default, what a log collector wants; human lines via pino-pretty when stdout is a terminal.
 * Warnings and errors go to stderr, the rest to stdout. AVLOC_LOG_LEVEL=debug|info|warn|error|
 * silent picks the floor (default info; tests use warn); AVLOC_LOG_FORMAT=json|pretty overrides
 * the choice. Tokens and secrets are never passed to a logger (README.md, Security).
 */
import pino from 'pino';
import pretty from 'pino-pretty';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(scope: string): Logger;
}

function envLevel(): LogLevel {
  const v = process.env.AVLOC_LOG_LEVEL as LogLevel | undefined;
  return v && LEVELS.includes(v) ? v : 'info';
}

/** One pino root per level: every scope's logger is a child of it (they share the streams). */
const roots = new Map<LogLevel, pino.Logger>();

function root(level: LogLevel): pino.Logger {
  let r = roots.get(level);
  if (r) return r;
  const wantPretty = process.env.AVLOC_LOG_FORMAT ? process.env.AVLOC_LOG_FORMAT === 'pretty' : process.stdout.isTTY === true;
  const out = (fd: 1 | 2) =>
    wantPretty
      ? pretty({ destination: fd, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,scope', messageFormat: '[{scope}] {msg}' })
      : pino.destination({ dest: fd, sync: true });
  // dedupe: each line goes to the stream of the highest level it reaches (warn+ → stderr only).
  const streams = pino.multistream([{ level: 'debug', stream: out(1) }, { level: 'warn', stream: out(2) }], { dedupe: true });
  r = pino({ level, base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } }, streams);
  roots.set(level, r);
  return r;
}

function wrap(p: pino.Logger, scope: string, level: LogLevel): Logger {
  return {
    debug: (m, f) => (f ? p.debug(f, m) : p.debug(m)),
    info: (m, f) => (f ? p.info(f, m) : p.info(m)),
    warn: (m, f) => (f ? p.warn(f, m) : p.warn(m)),
    error: (m, f) => (f ? p.error(f, m) : p.error(m)),
    child: (s) => {
      const sub = `${scope}:${s}`;
      return wrap(root(level).child({ scope: sub }), sub, level);
    },
  };
}

export function createLogger(scope = 'avloc', level: LogLevel = envLevel()): Logger {
  return wrap(root(level).child({ scope }), scope, level);
}

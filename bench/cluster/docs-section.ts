import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * The "Cluster and remote inference" section of docs/BENCHMARKS.md, between two markers, so that
 * `npm run bench:cluster -- --docs` replaces only its own section and `npm run bench -- --docs`
 * (which writes the rest of the page) carries it over unchanged (bench/report/docs-page.ts).
 */
export const BENCHMARKS_PAGE = 'docs/BENCHMARKS.md';
export const SECTION_START = '<!-- bench:cluster:start (written by npm run bench:cluster -- --docs) -->';
export const SECTION_END = '<!-- bench:cluster:end -->';

const PREAMBLE = `## Cluster and remote inference (\`npm run bench:cluster\`)

\`npm run bench:cluster\` (under two minutes on this project's 2-core machine; \`-- --quick\` under one) runs, on one machine over
loopback, a real \`redis-server\` on a free port, two and then three avloc nodes as child processes
(\`bench/harness/service-host.ts\`, cluster mode on that Redis) and a real ffmpeg publisher, and
measures what cluster mode and remote inference cost:

1. **Fan-out latency and loss**: WebSocket probes on the publishing node and on every other node
   subscribe to \`*\`; frames are matched by stream id and frame number; the added latency is the
   remote arrival minus the local arrival (one clock: every probe is in the bench process). Lost
   frames are those the local probe got and a remote one did not; the nodes' own counters
   (published, received, dropped by reason, client queue drops) are read from \`/metrics\`.
2. **Node loss**: the publishing node is SIGKILLed; the time until its streams leave the other
   nodes' \`/api/streams\` and until their probes get \`stream.ended\`, beside the configured claim
   TTL, heartbeat and directory poll.
3. **Remote inference**: the same batches of one bundle through an in-process OrtLocalizer and a
   RemoteLocalizer against the in-repo KServe v2 server, at batch 1 and 4, in one run.

Options: \`--model DIR\` (default the random-weight fixture \`test/fixtures/avin-tiny-random\`),
\`--seconds S\`, \`--kills N\`, \`--batches N\`, \`--fps N\`, \`--streams N\`, \`--preview\`,
\`--claim-ttl-ms N\`, \`--heartbeat-ms N\`, \`--poll-ms N\`, \`--out DIR\` (JSON, default
\`bench/out/cluster.json\`), \`--docs\` (also \`docs/bench/cluster.json\` and this section). Every
process shares the machine's cores: the figures include that contention, and a machine with more
cores or nodes on separate hosts (a real network hop) will show other numbers.`;

export function renderSection(runMarkdown: string): string {
  return `${SECTION_START}\n${PREAMBLE}\n\n${runMarkdown}\n${SECTION_END}`;
}

/** The marked section of a page (markers included), or null. */
export function extractSection(page: string): string | null {
  const a = page.indexOf(SECTION_START);
  const b = page.indexOf(SECTION_END);
  if (a < 0 || b < a) return null;
  return page.slice(a, b + SECTION_END.length);
}

/** Replaces the section in the page, or inserts it before the chaos section (else at the end). */
export function writeSection(runMarkdown: string, path = BENCHMARKS_PAGE): void {
  const section = renderSection(runMarkdown);
  const page = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const old = extractSection(page);
  let next: string;
  if (old !== null) next = page.replace(old, () => section);
  else {
    const at = page.indexOf('\n## Faults at the edge');
    next = at >= 0 ? `${page.slice(0, at + 1)}${section}\n\n${page.slice(at + 1)}` : `${page.trimEnd()}\n\n${section}\n`;
  }
  writeFileSync(path, next);
}

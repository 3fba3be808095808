import { readFileSync } from 'node:fs';
import { renderMarkdown } from './report/markdown.ts';
import { checkTargets } from './report/targets.ts';
import type { BenchReport } from './report/types.ts';
import { writeOutputs } from './report/write.ts';

/**
 * Re-renders a saved run: `node --import tsx bench/render.ts bench/out/latest.json [--docs]`.
 * Lets the report's wording or plot change without rerunning (and re-loading the machine);
 * the figures and the command that made them come from the JSON unchanged.
 */
const [file, ...rest] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node --import tsx bench/render.ts RUN.json [--docs] [--out DIR]\n');
  process.exit(2);
}
const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
report.targets = checkTargets(report);
const outIdx = rest.indexOf('--out');
const outDir = outIdx >= 0 ? (rest[outIdx + 1] ?? 'bench/out') : 'bench/out';
process.stdout.write(renderMarkdown(report));
for (const p of writeOutputs(report, outDir, rest.includes('--docs'))) process.stderr.write(`wrote ${p}\n`);

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderDocsPage } from './docs-page.ts';
import { renderMarkdown } from './markdown.ts';
import { renderPlot } from './plot.ts';
import type { BenchReport } from './types.ts';

/**
 * Writes one run's JSON, Markdown and SVG into `outDir` (a timestamped JSON plus latest.*), and
 * with `docs` also docs/BENCHMARKS.md and docs/bench/<quick|full>.{svg,json}. Returns the paths.
 */
export function writeOutputs(report: BenchReport, outDir: string, docs: boolean): string[] {
  mkdirSync(outDir, { recursive: true });
  const json = `${JSON.stringify(report, null, 1)}\n`;
  const svg = renderPlot(report);
  const stamp = report.startedAt.replace(/[:]/g, '-');
  const written = [join(outDir, `bench-${stamp}.json`), join(outDir, 'latest.json'), join(outDir, 'latest.svg'), join(outDir, 'latest.md')];
  writeFileSync(written[0] as string, json);
  writeFileSync(written[1] as string, json);
  writeFileSync(written[2] as string, svg);
  writeFileSync(written[3] as string, renderMarkdown(report, 'latest.svg'));
  if (docs) {
    mkdirSync('docs/bench', { recursive: true });
    const kind = report.options.quick ? 'quick' : 'full';
    writeFileSync(`docs/bench/${kind}.svg`, svg);
    writeFileSync(`docs/bench/${kind}.json`, json);
    writeFileSync('docs/BENCHMARKS.md', renderDocsPage(report, kind));
    written.push('docs/BENCHMARKS.md', `docs/bench/${kind}.svg`, `docs/bench/${kind}.json`);
  }
  return written;
}

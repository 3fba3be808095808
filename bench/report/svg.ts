/**
 * A hand-written SVG line chart (no plotting library): linear or log y, nice ticks, a legend.
 * Panels are laid out in a grid by `renderFigure`. Kept deliberately small: only what the bench
 * report draws.
 */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: ReadonlyArray<readonly [number, number]>;
  readonly dashed?: boolean;
  readonly markers?: boolean;
}

export interface Panel {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly logY?: boolean;
  /** Draw x ticks at exactly these values (e.g. stream counts). */
  readonly xTicks?: readonly number[];
  readonly logX?: boolean;
}

const W = 460;
const H = 300;
const M = { left: 62, right: 16, top: 30, bottom: 44 };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Round-numbered ticks in [lo, hi]; with `cover`, the last tick is the first one at or above hi. */
export function niceTicks(lo: number, hi: number, count = 5, cover = false): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  const top = cover ? Math.ceil(hi / step - 1e-9) * step : hi;
  for (let v = Math.ceil(lo / step) * step; v <= top + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1000) return `${+(v / 1000).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

function renderPanel(p: Panel, ox: number, oy: number): string {
  const pts = p.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.logY || y > 0));
  const xs = pts.map(([x]) => x);
  const ys = pts.map(([, y]) => y);
  let x0 = Math.min(...(p.xTicks ?? []), ...xs);
  let x1 = Math.max(...(p.xTicks ?? []), ...xs);
  if (!Number.isFinite(x0)) [x0, x1] = [0, 1];
  if (x0 === x1) x1 = x0 + 1;
  let y0: number;
  let y1: number;
  let yTicks: number[];
  const tx = (x: number) => (p.logX ? Math.log2(x) : x);
  if (p.logY) {
    const lo = Math.min(...ys);
    const hi = Math.max(...ys);
    y0 = 10 ** Math.floor(Math.log10(Number.isFinite(lo) ? lo : 1));
    y1 = 10 ** Math.ceil(Math.log10(Number.isFinite(hi) ? hi : 10));
    if (y1 <= y0) y1 = y0 * 10;
    yTicks = [];
    for (let v = y0; v <= y1 * 1.0001; v *= 10) yTicks.push(v);
  } else {
    y0 = 0;
    const hi = Math.max(...ys);
    yTicks = niceTicks(0, Number.isFinite(hi) && hi > 0 ? hi : 1, 5, true);
    y1 = Math.max(yTicks[yTicks.length - 1] ?? 1, Number.isFinite(hi) ? hi : 1);
  }
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const sx = (x: number) => ox + M.left + ((tx(x) - tx(x0)) / (tx(x1) - tx(x0))) * iw;
  const sy = (y: number) => {
    const f = p.logY ? (Math.log10(y) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)) : (y - y0) / (y1 - y0);
    return oy + M.top + ih - f * ih;
  };
  const g: string[] = [];
  g.push(`<text x="${ox + W / 2}" y="${oy + 18}" text-anchor="middle" font-size="13" font-weight="bold">${esc(p.title)}</text>`);
  g.push(`<rect x="${ox + M.left}" y="${oy + M.top}" width="${iw}" height="${ih}" fill="none" stroke="#999"/>`);
  for (const t of yTicks) {
    const y = sy(t).toFixed(1);
    g.push(`<line x1="${ox + M.left}" x2="${ox + M.left + iw}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    g.push(`<text x="${ox + M.left - 5}" y="${y}" dy="4" text-anchor="end" font-size="10">${fmt(t)}</text>`);
  }
  const xTicks = p.xTicks ?? niceTicks(x0, x1);
  for (const t of xTicks) {
    const x = sx(t).toFixed(1);
    g.push(`<line x1="${x}" x2="${x}" y1="${oy + M.top + ih}" y2="${oy + M.top + ih + 4}" stroke="#999"/>`);
    g.push(`<text x="${x}" y="${oy + M.top + ih + 15}" text-anchor="middle" font-size="10">${fmt(t)}</text>`);
  }
  g.push(`<text x="${ox + M.left + iw / 2}" y="${oy + H - 8}" text-anchor="middle" font-size="11">${esc(p.xLabel)}</text>`);
  g.push(`<text transform="translate(${ox + 14},${oy + M.top + ih / 2}) rotate(-90)" text-anchor="middle" font-size="11">${esc(p.yLabel)}${p.logY ? ' (log)' : ''}</text>`);
  p.series.forEach((s, i) => {
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!p.logY || y > 0));
    if (ok.length > 0) {
      const d = ok.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      g.push(`<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5,4"' : ''}/>`);
      if (s.markers) for (const [x, y] of ok) g.push(`<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    }
    const ly = oy + M.top + 12 + i * 14;
    const lx = ox + M.left + 8;
    g.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,4"' : ''}/>`);
    g.push(`<text x="${lx + 22}" y="${ly}" font-size="10">${esc(s.name)}</text>`);
  });
  return g.join('\n');
}

/** Panels in a grid of `columns`, with a caption line under the title. */
export function renderFigure(title: string, caption: string, panels: readonly Panel[], columns = 2): string {
  const rows = Math.ceil(panels.length / columns);
  const top = 44;
  const width = columns * W;
  const height = top + rows * H;
  const body = panels.map((p, i) => renderPanel(p, (i % columns) * W, top + Math.floor(i / columns) * H));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="${width / 2}" y="36" text-anchor="middle" font-size="11" fill="#555">${esc(caption)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

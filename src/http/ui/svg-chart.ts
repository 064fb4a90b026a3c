/**
 * Tiny server-rendered SVG charts (no JavaScript, no library). Every text node goes through
 * escapeXml: repository names end up in titles. Each chart carries <title> and <desc>
 * (referenced by aria-labelledby) so a screen reader gets the numbers, not just "image".
 */

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export interface ChartText {
  title: string;
  desc: string;
  /** Tick label for a y value. */
  yLabel(v: number): string;
  /** Tick label for an x value (epoch ms for time charts, bar index otherwise). */
  xLabel(v: number): string;
  /** Unit the y ticks are round numbers of (1024^k for bytes, so ticks read 1, 2, 3 KiB); default 1. */
  yUnit?(max: number): number;
}

const W = 640;
const H = 240;
const PAD = { left: 72, right: 16, top: 28, bottom: 36 };
const PLOT_W = W - PAD.left - PAD.right;
const PLOT_H = H - PAD.top - PAD.bottom;

function fmt(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

/** Up to `count` round tick values from 0 to at least `max` (1, 2, 2.5, 5 x 10^k steps). */
export function niceTicks(max: number, count = 4, base = 10): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = base ** Math.floor(Math.log(raw) / Math.log(base));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step; v += step) ticks.push(v);
  return ticks;
}

function frame(text: ChartText, body: string, yTicks: number[], yMax: number): string {
  const y = (v: number) => PAD.top + PLOT_H - (v / yMax) * PLOT_H;
  const grid = yTicks
    .map((t) => `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${fmt(y(t))}" y2="${fmt(y(t))}"/>` +
      `<text class="tick" x="${PAD.left - 6}" y="${fmt(y(t) + 4)}" text-anchor="end">${escapeXml(text.yLabel(t))}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-labelledby="t d">` +
    `<title id="t">${escapeXml(text.title)}</title><desc id="d">${escapeXml(text.desc)}</desc>` +
    '<style>text{font:12px system-ui,sans-serif;fill:#1f2933}.grid{stroke:#d0d7de;stroke-width:1}.axis{stroke:#57606a}' +
    '.line{fill:none;stroke:#0b5cad;stroke-width:2}.area{fill:#0b5cad;fill-opacity:.12}.bar{fill:#0b5cad}.empty{fill:#57606a}</style>' +
    `<rect width="${W}" height="${H}" fill="#ffffff"/>` +
    `<text x="${PAD.left}" y="16" font-weight="600">${escapeXml(text.title)}</text>` +
    grid +
    `<line class="axis" x1="${PAD.left}" x2="${W - PAD.right}" y1="${PAD.top + PLOT_H}" y2="${PAD.top + PLOT_H}"/>` +
    body +
    '</svg>\n';
}

export interface Point {
  x: number;
  y: number;
}

/** A step line (values change at discrete events, e.g. uploads) with a shaded area below. */
export function stepChart(points: Point[], text: ChartText, endX?: number): string {
  if (points.length === 0) {
    return frame(text, `<text class="empty" x="${W / 2}" y="${H / 2}" text-anchor="middle">no data yet</text>`, [0, 1], 1);
  }
  const yMax = Math.max(...points.map((p) => p.y));
  const unit = text.yUnit?.(yMax) ?? 1;
  const ticks = niceTicks(yMax / unit).map((t) => t * unit);
  const top = ticks[ticks.length - 1];
  const x0 = points[0].x;
  // A single point (or several at one instant) still gets a visible line.
  const x1 = Math.max(points[points.length - 1].x, endX ?? 0, x0 + 1);
  const sx = (x: number) => PAD.left + ((x - x0) / (x1 - x0)) * PLOT_W;
  const sy = (y: number) => PAD.top + PLOT_H - (y / top) * PLOT_H;
  let d = `M${fmt(sx(x0))},${fmt(sy(0))}`;
  for (const p of points) d += `H${fmt(sx(p.x))}V${fmt(sy(p.y))}`;
  d += `H${fmt(sx(x1))}`;
  const area = `${d}V${fmt(sy(0))}Z`;
  const baseY = PAD.top + PLOT_H + 16;
  const labels =
    `<text class="tick" x="${PAD.left}" y="${baseY}">${escapeXml(text.xLabel(x0))}</text>` +
    `<text class="tick" x="${W - PAD.right}" y="${baseY}" text-anchor="end">${escapeXml(text.xLabel(x1))}</text>`;
  return frame(text, `<path class="area" d="${area}"/><path class="line" d="${d}"/>${labels}`, ticks, top);
}

/** One bar per value; x labels at the first, middle and last bar. */
export function barChart(values: number[], text: ChartText): string {
  const yMax = Math.max(0, ...values);
  const ticks = niceTicks(Math.max(yMax, 1)).filter((t) => Number.isInteger(t));
  const top = ticks[ticks.length - 1] || 1;
  const n = Math.max(values.length, 1);
  const slot = PLOT_W / n;
  const bw = Math.max(slot * 0.7, 1);
  const sy = (y: number) => PAD.top + PLOT_H - (y / top) * PLOT_H;
  const bars = values
    .map((v, i) => (v > 0 ? `<rect class="bar" x="${fmt(PAD.left + i * slot + (slot - bw) / 2)}" y="${fmt(sy(v))}" width="${fmt(bw)}" height="${fmt(PAD.top + PLOT_H - sy(v))}"><title>${escapeXml(`${text.xLabel(i)}: ${v}`)}</title></rect>` : ''))
    .join('');
  const baseY = PAD.top + PLOT_H + 16;
  const at = [...new Set([0, Math.floor((n - 1) / 2), n - 1])];
  const labels = at
    .map((i) => `<text class="tick" x="${fmt(PAD.left + i * slot + slot / 2)}" y="${baseY}" text-anchor="${i === 0 ? 'start' : i === n - 1 ? 'end' : 'middle'}">${escapeXml(text.xLabel(i))}</text>`)
    .join('');
  return frame(text, bars + labels, ticks, top);
}

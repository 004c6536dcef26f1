/** A dependency-free SVG line plot: one panel per series, time on x. */

export interface Series {
  label: string;
  points: Array<[number, number]>;
}

const W = 720;
const H = 200;
const PAD = 44;

function panel(series: Series, top: number): string {
  const xs = series.points.map((p) => p[0]);
  const ys = series.points.map((p) => p[1]);
  const xMax = Math.max(1, ...xs);
  const yMax = Math.max(1, ...ys) * 1.1;
  const x = (v: number): number => PAD + (v / xMax) * (W - 2 * PAD);
  const y = (v: number): number => top + H - PAD / 2 - (v / yMax) * (H - PAD);
  const line = series.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ');
  const ticks = [0, 0.5, 1]
    .map((f) => `<text x="4" y="${y(yMax * f).toFixed(1)}" font-size="10">${(yMax * f).toFixed(0)}</text>`)
    .join('');
  return [
    `<text x="${PAD}" y="${top + 14}" font-size="12">${series.label}</text>`,
    `<line x1="${PAD}" y1="${y(0)}" x2="${W - PAD}" y2="${y(0)}" stroke="#999"/>`,
    `<text x="${W - PAD}" y="${y(0) + 14}" font-size="10" text-anchor="end">${xMax.toFixed(0)} s</text>`,
    ticks,
    `<polyline fill="none" stroke="#1565c0" stroke-width="1.5" points="${line}"/>`,
  ].join('\n');
}

export function plotSvg(title: string, series: readonly Series[]): string {
  const height = 24 + series.length * H;
  const panels = series.map((s, i) => panel(s, 24 + i * H)).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<text x="${PAD}" y="16" font-size="14">${title}</text>
${panels}
</svg>
`;
}

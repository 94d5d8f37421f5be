// The throughput chart, drawn by our own small code as SVG: one panel per connection count,
// grouped bars (a group per file size, a bar per system), log-scale MB/s, each bar with its value.
// Every system has its own hue (the ten of D3's category10, told apart also by readers with the
// common colour-vision deficiencies when read with the labels): the zero-copy routes in green,
// cyan and olive, the copy route in red, the rest in blue, orange, purple, brown, pink and grey.

export interface ChartBar {
  system: string;
  sizeLabel: string;
  connections: number;
  megabytesPerSecond: number;
}
export interface ChartOptions {
  title: string;
  systems: string[];
  sizeLabels: string[];
  connections: readonly number[];
  highlight: { zeroCopy: readonly string[]; copy: string };
  footnote: string;
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const ZERO_COPY_COLORS = ['#2ca02c', '#17becf', '#bcbd22'];
const COPY_COLOR = '#d62728';

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}

function colorOf(system: string, options: ChartOptions, otherIndex: () => number): string {
  const zeroIndex = options.highlight.zeroCopy.indexOf(system);
  if (zeroIndex >= 0) return ZERO_COPY_COLORS[zeroIndex % ZERO_COPY_COLORS.length] ?? '#1a7f37';
  if (system === options.highlight.copy) return COPY_COLOR;
  return PALETTE[otherIndex() % PALETTE.length] ?? '#888';
}

interface Panel {
  x: number;
  y: number;
  width: number;
  height: number;
}

function logScale(minValue: number, maxValue: number, panel: Panel) {
  const lo = Math.floor(Math.log10(Math.max(minValue, 1e-3)));
  // Head room above the tallest bar for the value written on it.
  const hi = Math.ceil(Math.log10(Math.max(maxValue * 4, 10)));
  const y = (v: number) =>
    panel.y + panel.height - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * panel.height;
  return { lo, hi, y };
}

function drawPanel(
  bars: ChartBar[],
  options: ChartOptions,
  connections: number,
  panel: Panel,
  colors: Map<string, string>,
) {
  const values = bars.map((b) => b.megabytesPerSecond).filter((v) => v > 0);
  const scale = logScale(Math.min(...values, 10), Math.max(...values, 100), panel);
  const out: string[] = [];
  for (let p = scale.lo; p <= scale.hi; p++) {
    const gy = scale.y(10 ** p);
    out.push(`<line x1="${panel.x}" y1="${gy}" x2="${panel.x + panel.width}" y2="${gy}" stroke="#ddd"/>`);
    out.push(
      `<text x="${panel.x - 6}" y="${gy + 4}" text-anchor="end" font-size="11">${10 ** p >= 1 ? 10 ** p : (10 ** p).toFixed(-p)}</text>`,
    );
  }
  const groupWidth = panel.width / options.sizeLabels.length;
  const barWidth = (groupWidth * 0.85) / options.systems.length;
  options.sizeLabels.forEach((sizeLabel, g) => {
    const gx = panel.x + g * groupWidth + groupWidth * 0.075;
    options.systems.forEach((system, s) => {
      const bar = bars.find(
        (b) => b.system === system && b.sizeLabel === sizeLabel && b.connections === connections,
      );
      if (!bar || !(bar.megabytesPerSecond > 0)) return;
      const top = scale.y(bar.megabytesPerSecond);
      const value =
        bar.megabytesPerSecond >= 10 ? bar.megabytesPerSecond.toFixed(0) : bar.megabytesPerSecond.toFixed(1);
      const title = `${system} ${sizeLabel} ${connections} conns: ${value} MB/s`;
      const bx = gx + s * barWidth;
      out.push(
        `<rect x="${bx.toFixed(1)}" y="${top.toFixed(1)}" width="${(barWidth - 1).toFixed(1)}" height="${(panel.y + panel.height - top).toFixed(1)}" fill="${colors.get(system)}"><title>${escapeXml(title)}</title></rect>`,
      );
      // The value stands on the bar, turned upright so that narrow bars can carry it.
      const cx = bx + (barWidth - 1) / 2 + 3;
      out.push(
        `<text x="${cx.toFixed(1)}" y="${(top - 3).toFixed(1)}" transform="rotate(-90 ${cx.toFixed(1)} ${(top - 3).toFixed(1)})" font-size="9" fill="#222">${value}</text>`,
      );
    });
    out.push(
      `<text x="${gx + groupWidth * 0.425}" y="${panel.y + panel.height + 16}" text-anchor="middle" font-size="12">${escapeXml(sizeLabel)}</text>`,
    );
  });
  out.push(
    `<text x="${panel.x}" y="${panel.y - 8}" font-size="13" font-weight="bold">${connections} connection${connections === 1 ? '' : 's'} — payload MB/s (log scale)</text>`,
  );
  out.push(
    `<line x1="${panel.x}" y1="${panel.y + panel.height}" x2="${panel.x + panel.width}" y2="${panel.y + panel.height}" stroke="#333"/>`,
  );
  return out.join('\n');
}

export function renderChart(bars: ChartBar[], options: ChartOptions): string {
  let other = 0;
  const colors = new Map(options.systems.map((s) => [s, colorOf(s, options, () => other++)]));
  const panelHeight = 260;
  const width = 980;
  const legendRows = Math.ceil(options.systems.length / 4);
  const top = 50 + legendRows * 20;
  const height = top + options.connections.length * (panelHeight + 60) + 30;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="20" y="24" font-size="16" font-weight="bold">${escapeXml(options.title)}</text>`,
  ];
  options.systems.forEach((system, i) => {
    const lx = 20 + (i % 4) * 235;
    const ly = 40 + Math.floor(i / 4) * 20;
    const strong = options.highlight.zeroCopy.includes(system) || system === options.highlight.copy;
    parts.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${colors.get(system)}"/>`);
    parts.push(
      `<text x="${lx + 18}" y="${ly + 11}" font-size="12"${strong ? ' font-weight="bold"' : ''}>${escapeXml(system)}</text>`,
    );
  });
  options.connections.forEach((connections, i) => {
    const panel = { x: 70, y: top + 20 + i * (panelHeight + 60), width: width - 100, height: panelHeight };
    parts.push(drawPanel(bars, options, connections, panel, colors));
  });
  parts.push(
    `<text x="20" y="${height - 10}" font-size="11" fill="#555">${escapeXml(options.footnote)}</text>`,
  );
  parts.push('</svg>');
  return parts.join('\n');
}

// The throughput chart, drawn by our own small code as SVG: one panel per connection count,
// grouped bars (a group per file size, a bar per system), log-scale MB/s. The zero-copy routes
// are drawn in strong greens, the copy route in red, the rest in greys and blues, so the gap
// between /zerocopy and /copy is the first thing the eye finds.

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
  connections: number[];
  highlight: { zeroCopy: readonly string[]; copy: string };
  footnote: string;
}

const PALETTE = ['#4e79a7', '#76b7b2', '#b07aa1', '#9c755f', '#bab0ac', '#edc948', '#59a14f', '#8cd17d'];
const ZERO_COPY_COLORS = ['#1a7f37', '#2da44e', '#4ac26b'];
const COPY_COLOR = '#cf222e';

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
  const hi = Math.ceil(Math.log10(Math.max(maxValue, 10)));
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
      const title = `${system} ${sizeLabel} ${connections} conns: ${bar.megabytesPerSecond.toFixed(0)} MB/s`;
      out.push(
        `<rect x="${(gx + s * barWidth).toFixed(1)}" y="${top.toFixed(1)}" width="${(barWidth - 1).toFixed(1)}" height="${(panel.y + panel.height - top).toFixed(1)}" fill="${colors.get(system)}"><title>${escapeXml(title)}</title></rect>`,
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

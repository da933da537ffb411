/**
 * Small SVG charts of a run: a bar panel per scenario, and RSS over requests for the soak.
 */

export interface Bar {
  label: string;
  value: number;
  text: string;
  highlight?: boolean;
}

/** One SVG with a horizontal bar panel per scenario. */
export function svgChart(title: string, subtitle: string, panels: { title: string; bars: Bar[] }[]): string {
  const width = 820;
  const labelWidth = 90;
  const barArea = width - labelWidth - 320;
  const barHeight = 18;
  const gap = 6;
  let y = 56;
  const parts: string[] = [];
  for (const panel of panels) {
    parts.push(`<text x="12" y="${y}" font-weight="bold">${escapeXml(panel.title)}</text>`);
    y += 10;
    const max = Math.max(...panel.bars.map((bar) => (Number.isFinite(bar.value) ? bar.value : 0)), 1e-9);
    for (const bar of panel.bars) {
      const length = Number.isFinite(bar.value) ? Math.max(1, (bar.value / max) * barArea) : 0;
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + barHeight - 5}" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${length.toFixed(1)}" height="${barHeight}" ` +
          `fill="${bar.highlight ? '#d9480f' : '#4263eb'}"/>`,
        `<text x="${(labelWidth + length + 6).toFixed(1)}" y="${y + barHeight - 5}">${escapeXml(bar.text)}</text>`,
      );
      y += barHeight + gap;
    }
    y += 22;
  }
  return svgDocument(width, y, title, subtitle, parts);
}

/** A line chart of RSS samples over time (soak mode). */
export function svgLine(
  title: string,
  subtitle: string,
  points: { x: number; y: number }[],
  bound?: { from: number; to: number },
): string {
  const width = 760;
  const height = 300;
  const left = 60;
  const top = 72;
  const plotW = width - left - 20;
  const plotH = height - top - 40;
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y).concat(bound ? [bound.from, bound.to] : []);
  const xMax = Math.max(...xs, 1);
  const yMin = Math.floor(Math.min(...ys) / 10) * 10;
  const yMax = Math.ceil(Math.max(...ys) / 10) * 10 + 10;
  const px = (x: number): number => left + (x / xMax) * plotW;
  const py = (v: number): number => top + plotH - ((v - yMin) / (yMax - yMin)) * plotH;
  const path = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
  const ticks: string[] = [];
  for (let v = yMin; v <= yMax; v += Math.max(10, Math.round((yMax - yMin) / 50) * 10)) {
    ticks.push(
      `<text x="${left - 6}" y="${py(v) + 4}" text-anchor="end">${v}</text>`,
      `<line x1="${left}" x2="${width - 20}" y1="${py(v)}" y2="${py(v)}" stroke="#eee"/>`,
    );
  }
  return svgDocument(width, height, title, subtitle, [
    ...ticks,
    bound
      ? `<line x1="${left}" x2="${width - 20}" y1="${py(bound.to)}" y2="${py(bound.to)}" ` +
        'stroke="#d9480f" stroke-dasharray="4 3"/>'
      : '',
    `<path d="${path}" fill="none" stroke="#4263eb" stroke-width="2"/>`,
    `<text x="${left}" y="${height - 12}">requests sent: 0 → ${xMax.toLocaleString('en')}</text>`,
    `<text x="12" y="${top - 12}">RSS MB</text>`,
  ]);
}

/** An SVG page with a title and subtitle above the given elements. */
function svgDocument(width: number, height: number, title: string, subtitle: string, elements: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="12" y="22" font-size="15" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="12" y="40" fill="#555">${escapeXml(subtitle)}</text>`,
    ...elements,
    '</svg>',
    '',
  ].join('\n');
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

import type { ScalingSeries } from '../scaling.js';
import { esc } from './svg.js';

/** Distinct line colours (colour-blind-safe Okabe-Ito first, then greys). */
const COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#f0e442'];

/**
 * A log-log chart of time per call against N, one line per op (dense `sdpa` drawn thick), with a legend:
 * linear-time ops rise with slope 1, dense attention with slope 2.
 */
export function scalingChartSvg(series: readonly ScalingSeries[], dense = 'sdpa'): string {
  const shown = series.filter((s) => s.points.length > 0);
  const W = 640;
  // Tall enough for the legend: one line per op.
  const H = Math.max(360, 30 + 15 * shown.length);
  const left = 56;
  const right = 190;
  const top = 12;
  const bottom = 40;
  const all = shown.flatMap((s) => s.points);
  if (all.length === 0) return '';
  const lx = (n: number) => Math.log10(n);
  const [x0, x1] = [Math.min(...all.map((p) => lx(p.n))), Math.max(...all.map((p) => lx(p.n)))];
  const [y0, y1] = [
    Math.floor(Math.min(...all.map((p) => Math.log10(p.medianMs)))),
    Math.ceil(Math.max(...all.map((p) => Math.log10(p.medianMs)))),
  ];
  const px = (n: number) => left + ((lx(n) - x0) / Math.max(1e-9, x1 - x0)) * (W - left - right);
  const py = (ms: number) => top + (1 - (Math.log10(ms) - y0) / Math.max(1e-9, y1 - y0)) * (H - top - bottom);
  const parts: string[] = [`<rect width="${W}" height="${H}" fill="#fff"/>`];
  for (let e = y0; e <= y1; e++) {
    const y = py(10 ** e);
    parts.push(`<line x1="${left}" x2="${W - right}" y1="${y}" y2="${y}" stroke="#e3e7ed"/>`);
    parts.push(
      `<text x="${left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${esc(msLabel(10 ** e))}</text>`,
    );
  }
  const sizes = [...new Set(all.map((p) => p.n))].sort((a, b) => a - b);
  for (const n of sizes) {
    const x = px(n);
    parts.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${H - bottom}" stroke="#eef1f5"/>`);
    parts.push(`<text x="${x}" y="${H - bottom + 16}" font-size="11" text-anchor="middle">${n}</text>`);
  }
  parts.push(
    `<text x="${(left + W - right) / 2}" y="${H - 6}" font-size="12" text-anchor="middle">tokens N (log scale)</text>`,
  );
  shown.forEach((s, i) => {
    const colour = s.op === dense ? '#1d232b' : COLOURS[i % COLOURS.length];
    const width = s.op === dense ? 3 : 1.5;
    const pts = s.points.map((p) => `${px(p.n).toFixed(1)},${py(p.medianMs).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${colour}" stroke-width="${width}"/>`);
    for (const p of s.points) {
      parts.push(
        `<circle cx="${px(p.n).toFixed(1)}" cy="${py(p.medianMs).toFixed(1)}" r="2.5" fill="${colour}"/>`,
      );
    }
    const ly = top + 8 + i * 15;
    parts.push(
      `<line x1="${W - right + 10}" x2="${W - right + 28}" y1="${ly}" y2="${ly}" stroke="${colour}" stroke-width="${width}"/>`,
    );
    parts.push(`<text x="${W - right + 32}" y="${ly + 4}" font-size="11">${esc(s.op)}</text>`);
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img">` +
    `<title>time per call against N, log-log</title>${parts.join('')}</svg>`
  );
}

function msLabel(ms: number): string {
  if (ms >= 1000) return `${ms / 1000} s`;
  if (ms >= 1) return `${ms} ms`;
  return `${ms * 1000} µs`;
}

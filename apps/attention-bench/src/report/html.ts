import type { BackendChoice } from '../backend.js';
import type { MachineInfo } from '../machine.js';
import { type CaseResult, fmtMs, NUMERIC_COLUMNS, TABLE_HEADER, tableRows } from '../results.js';
import { crossovers, type ScalingSeries } from '../scaling.js';
import type { Figure } from './pictures.js';
import { scalingChartSvg } from './scaling-chart.js';
import { esc } from './svg.js';

/** The pictures of one op on one workload. */
export interface FigureSet {
  shape: string;
  figures: Figure[];
  /** Why pictures are missing (the op's pattern threw). */
  error?: string;
}

/** The pictures of one op. */
export interface OpSection {
  op: string;
  packageName: string;
  description: string;
  sets: FigureSet[];
}

/** Everything the HTML report shows. */
export interface ReportData {
  date: string;
  command: string;
  machine: MachineInfo;
  backend: BackendChoice;
  /** Which attention packages were loaded, in words. */
  packages: string;
  notes: string[];
  results: CaseResult[];
  /** Time against sequence length per 1-D op (empty when the sweep was off). */
  scaling: ScalingSeries[];
  sections: OpSection[];
}

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d232b; margin: 0; background: #fafbfc; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #d8dee6; padding-bottom: 4px; }
h3 { font-size: 16px; margin: 22px 0 2px; }
h3 small { font-weight: normal; color: #5b6573; }
h4 { font-size: 14px; margin: 14px 0 6px; font-family: ui-monospace, monospace; }
.meta { color: #5b6573; margin: 0 0 12px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dt { color: #5b6573; }
dd { margin: 0; }
table { border-collapse: collapse; background: #fff; }
th, td { padding: 4px 10px; border-bottom: 1px solid #e3e7ed; text-align: left; white-space: nowrap; }
th { background: #eef1f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.ok { color: #1e7a34; }
td.mismatch, td.error { color: #b3261e; font-weight: 600; }
td.skipped { color: #5b6573; white-space: normal; }
ul.notes { color: #3c4652; padding-left: 20px; }
.figs { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
figure { margin: 0; display: table; }
figcaption { display: table-caption; caption-side: bottom; font-size: 12px; color: #3c4652; padding-top: 4px; }
pre { background: #fff1f0; padding: 8px; white-space: pre-wrap; }
code { font-family: ui-monospace, monospace; }
`;

function resultsTable(results: readonly CaseResult[]): string {
  const rows = tableRows(results);
  const head = TABLE_HEADER.map((h) => `<th>${esc(h)}</th>`).join('');
  const body = rows
    .map((cells, i) => {
      const tds = cells.map((cell, c) => {
        const cls = NUMERIC_COLUMNS.includes(c) ? 'num' : c === cells.length - 1 ? results[i].status : '';
        return `<td${cls ? ` class="${cls}"` : ''}>${esc(cell)}</td>`;
      });
      return `<tr>${tds.join('')}</tr>`;
    })
    .join('\n');
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

function section(s: OpSection): string {
  const sets = s.sets
    .map((set) => {
      const figs = set.figures
        .map((f) => `<figure>${f.svg}<figcaption>${esc(f.caption)}</figcaption></figure>`)
        .join('\n');
      const error = set.error ? `<pre>${esc(set.error)}</pre>` : '';
      return `<h4>${esc(set.shape)}</h4>\n${error}<div class="figs">\n${figs}\n</div>`;
    })
    .join('\n');
  return (
    `<section>\n<h3>${esc(s.op)} <small>${esc(s.packageName)}</small></h3>\n<p>${esc(s.description)}</p>\n` +
    `${sets}\n</section>`
  );
}

function scalingSection(series: readonly ScalingSeries[]): string {
  if (series.every((s) => s.points.length === 0)) return '';
  const sizes = [...new Set(series.flatMap((s) => s.points.map((p) => p.n)))].sort((a, b) => a - b);
  const cross = crossovers(series);
  const head = ['op', ...sizes.map((n) => `N=${n} ms`), 'against dense'].map((h) => `<th>${esc(h)}</th>`);
  const rows = series.map((s) => {
    const at = new Map(s.points.map((p) => [p.n, p.medianMs]));
    const cells = sizes.map(
      (n) => `<td class="num">${at.has(n) ? esc(fmtMs(at.get(n) as number)) : '-'}</td>`,
    );
    const note = [cross.get(s.op), s.note].filter(Boolean).join('; ');
    return `<tr><td>${esc(s.op)}</td>${cells.join('')}<td class="skipped">${esc(note)}</td></tr>`;
  });
  return `<h2>Time against sequence length</h2>
<p>Every op that takes a 1-D sequence, timed at each N with the main table's batch, heads and head size.
On log-log axes dense attention rises with slope 2 and linear-time attention with slope 1.</p>
${scalingChartSvg(series)}
<table>\n<thead><tr>${head.join('')}</tr></thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
}

/** The self-contained report page: inline CSS and SVG only, so it can be mailed or archived as one file. */
export function renderHtml(d: ReportData): string {
  const m = d.machine;
  const machine = [
    ['CPU', `${m.cpu} (${m.cores} logical cores, ${m.memoryGiB} GiB)`],
    ['platform', `${m.platform}, Node.js ${m.node}`],
    ['backend', `${d.backend.name}: ${d.backend.description}`],
    ['WebGPU', d.backend.note.replace(/^WebGPU: /, '')],
    ['ops', d.packages],
  ]
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`)
    .join('\n');
  const failures = d.results
    .filter((r) => r.status === 'error')
    .map((r) => `<p><strong>${esc(r.op)} ${esc(r.shape)}</strong></p><pre>${esc(r.reason ?? '')}</pre>`)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>attnkit attention bench, ${esc(d.date)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>attnkit attention bench</h1>
<p class="meta">${esc(d.date)} &middot; <code>${esc(d.command)}</code></p>
<dl>
${machine}
</dl>
<h2>Results</h2>
${resultsTable(d.results)}
<ul class="notes">
${d.notes.map((n) => `<li>${esc(n)}</li>`).join('\n')}
</ul>
${failures ? `<h2>Errors</h2>\n${failures}` : ''}
${scalingSection(d.scaling)}
<h2>Attention patterns</h2>
<p>Blue cells are the keys a query attends to; the red square is the query itself. Patterns are the same for
every batch item and head.</p>
${d.sections.map(section).join('\n')}
</main>
</body>
</html>
`;
}

import type { BackendChoice } from '../backend.js';
import type { MachineInfo } from '../machine.js';
import { type CaseResult, NUMERIC_COLUMNS, TABLE_HEADER, tableRows } from '../results.js';
import type { Figure } from './pictures.js';
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
<h2>Attention patterns</h2>
<p>Blue cells are the keys a query attends to; the red square is the query itself. Patterns are the same for
every batch item and head.</p>
${d.sections.map(section).join('\n')}
</main>
</body>
</html>
`;
}

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type ReportData, renderHtml } from './html.js';

/** File name of the HTML report in the output folder. */
export const REPORT_HTML = 'attention-report.html';
/** File name of the JSON of the results, beside the HTML. */
export const REPORT_JSON = 'attention-report.json';

/**
 * Writes the HTML report and the JSON of the results (everything but the pictures, plus the run's settings)
 * into `dir`, creating it. Returns both paths.
 */
export function writeReport(
  dir: string,
  data: ReportData,
  settings: Record<string, unknown>,
): { htmlPath: string; jsonPath: string } {
  mkdirSync(dir, { recursive: true });
  const htmlPath = path.join(dir, REPORT_HTML);
  const jsonPath = path.join(dir, REPORT_JSON);
  writeFileSync(htmlPath, renderHtml(data));
  const { sections: _pictures, ...rest } = data;
  const json = { tool: '@attnkit/attention-bench', ...rest, settings };
  writeFileSync(jsonPath, `${JSON.stringify(json, null, 2)}\n`);
  return { htmlPath, jsonPath };
}

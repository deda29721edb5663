// What the notebooks display, as HTML strings a cell hands to tslab.display.html(): tables, sources side by
// side, listings. Plain strings, so the same code runs (and is tested) outside Jupyter.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../engine/paths.js';

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const cell = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'bigint' ? `${v}n` : String(v));

/** rows (objects with the same keys) → an HTML table; the columns are the first row's keys unless given. */
export function htmlTable(rows: readonly Record<string, unknown>[], columns: string[] = Object.keys(rows[0] ?? {})): string {
  const head = columns.map((c) => `<th style="text-align:left">${escape(c)}</th>`).join('');
  const body = rows.map((r) => `<tr>${columns.map((c) => `<td style="text-align:left;vertical-align:top">${escape(cell(r[c]))}</td>`).join('')}</tr>`).join('\n');
  return `<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** rows → aligned plain text (what a test or a terminal reads), the same columns as htmlTable. */
export function textTable(rows: readonly Record<string, unknown>[], columns: string[] = Object.keys(rows[0] ?? {})): string {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

export interface SourceFile {
  title: string;
  text: string;
}

/** Sources in columns of their own, each scrolling: the same tool written several ways. */
export function sideBySide(files: readonly SourceFile[], height = 32): string {
  const cols = files
    .map(
      (f) =>
        `<div style="flex:1;min-width:0"><b>${escape(f.title)}</b> <span style="color:#888">(${f.text.split('\n').length} lines)</span>` +
        `<pre style="max-height:${height}em;overflow:auto;font-size:11px;border:1px solid #ddd;padding:4px;margin:2px">${escape(f.text)}</pre></div>`,
    )
    .join('\n');
  return `<div style="display:flex;gap:6px;align-items:flex-start">\n${cols}\n</div>`;
}

/** Two listings of one program beside each other, row by row (what was sent, what the kernel made of it). */
export function twoColumns(left: { title: string; lines: string[] }, right: { title: string; lines: string[] }): string {
  const n = Math.max(left.lines.length, right.lines.length);
  const rows = Array.from({ length: n }, (_, i) => ({ [left.title]: left.lines[i] ?? '', [right.title]: right.lines[i] ?? '' }));
  return htmlTable(rows, [left.title, right.title]).replace(/<td /g, '<td style="font-family:monospace" ').replace(/ style="text-align:left;vertical-align:top"/g, '');
}

/** A block of preformatted text. */
export const pre = (text: string): string => `<pre>${escape(text)}</pre>`;

/** Files of the project (paths from its root), read for sideBySide(). */
export function projectSources(...paths: string[]): SourceFile[] {
  return paths.map((p) => ({ title: p, text: readFileSync(join(projectRoot, p), 'utf8') }));
}

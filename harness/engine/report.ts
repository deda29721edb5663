// Presenting results: the side-by-side table a person reads, the JSON (schema 1, docs/CONTRACT.md) and the
// CSV that scripts read. Nothing here decides a verdict; it only shows the verdicts of compare.ts.

import Table from 'cli-table3';
import { stringify } from 'csv-stringify/sync';
import { renderDifference } from './example.js';
import type { CaseOutcome, CompareReport, TargetInfo, VariantResult } from './types.js';

const plainStyle = { head: [], border: [] };

const CELL: Record<CaseOutcome['verdict'], string> = {
  matched: 'match',
  differs: 'DIFFERS',
  missed: 'MISSED',
  'expected-missing': 'absent*',
};

function cell(o: CaseOutcome | undefined): string {
  if (!o) return '';
  // a match that needed a declared difference (a cap, comm at enter) is marked so the notes explain it
  if (o.verdict === 'matched' && o.notes.length > 0) return 'match*';
  return CELL[o.verdict];
}

export function describeTarget(t: TargetInfo): string {
  const parts = [`${t.kind} ${t.kernel}`];
  if (t.kind !== 'host') parts.push(t.tcgThread ? `${t.accel} (${t.tcgThread} thread)` : t.accel);
  if (t.bootMs !== undefined) parts.push(`boot ${(t.bootMs / 1000).toFixed(1)} s`);
  if (t.emulatorRetries) parts.push(`run again ${t.emulatorRetries} time${t.emulatorRetries === 1 ? '' : 's'} after the emulator's fault`);
  parts.push(t.btf ? 'BTF' : 'no BTF');
  return parts.join(', ');
}

/** One table per example: a case per row, a variant per column, then the notes that explain them. */
export function formatTables(report: CompareReport): string {
  const out: string[] = [`target: ${describeTarget(report.target)}`, ''];
  const examples = [...new Set(report.variants.map((v) => v.example))];
  for (const example of examples) {
    const variants = report.variants.filter((v) => v.example === example);
    const caseIds = [...new Set(variants.flatMap((v) => (v.cases ?? []).map((o) => o.id)))];
    const table = new Table({ head: [example, ...variants.map((v) => v.tool)], style: plainStyle });
    table.push(['status', ...variants.map((v) => v.status.toUpperCase())]);
    table.push(['startup', ...variants.map((v) => (v.startupMs === undefined ? '' : `${(v.startupMs / 1000).toFixed(2)} s`))]);
    for (const id of caseIds) table.push([id, ...variants.map((v) => cell(v.cases?.find((o) => o.id === id)))]);
    out.push(table.toString(), '');
    out.push(...variants.filter((v) => v.description).map((v) => `  ${v.tool}: ${v.description}`), '');
    out.push(...formatNotes(variants), '');
  }
  out.push(summaryLine(report.variants));
  return out.join('\n');
}

function formatNotes(variants: VariantResult[]): string[] {
  const lines: string[] = ['* expected difference, declared by the variant with its reason:'];
  // each reason once, whichever cases it shaped, with every variant that declares it (in the table's order)
  const byReason = new Map<string, string[]>();
  const graded = variants.filter((v) => !(v.status === 'skip' || v.status === 'error' || (v.status === 'fail' && !v.cases)));
  for (const v of graded) {
    for (const text of new Set(v.details.filter((d) => d.level === 'expected').map((d) => d.text))) byReason.set(text, [...(byReason.get(text) ?? []), v.tool]);
  }
  for (const [text, tools] of byReason) lines.push(`  ${tools.join(', ')}: ${text}`);
  for (const v of variants) {
    if (!graded.includes(v)) {
      lines.push(`  ${v.name}: ${v.status.toUpperCase()} — ${v.reason ?? ''}`);
      continue;
    }
    for (const d of v.details.filter((d) => d.level === 'quirk')) lines.push(`  ${v.name}: NOTE ${renderDifference(d)}`);
    for (const d of v.details.filter((d) => d.level === 'failure')) lines.push(`  ${v.name}: FAIL ${renderDifference(d)}`);
  }
  return lines;
}

export function summaryLine(results: VariantResult[]): string {
  const count = (s: string) => results.filter((r) => r.status === s).length;
  return `${results.length} variants: ${count('pass')} pass, ${count('fail')} fail, ${count('skip')} skip, ${count('error')} error`;
}

/** For a failure: the command, what was expected and what was found (docs/STYLE.md). */
export function formatFailureDetails(results: VariantResult[]): string {
  const out: string[] = [];
  for (const r of results.filter((r) => r.status === 'fail' || r.status === 'error')) {
    out.push(`--- ${r.name}: ${r.reason ?? r.status}`);
    if (r.command) out.push(`command: ${r.command.join(' ')}`);
    if (r.output) out.push(r.output);
  }
  return out.join('\n');
}

/**
 * The JSON of docs/CONTRACT.md, schema 1: each variant's differences as the lines a person reads
 * (`differences`), and as data (`details`), which is what a host reading a guest's report back uses.
 */
export function toJson(report: CompareReport): string {
  const variants = report.variants.map(({ details, ...v }) => ({ ...v, differences: details.map(renderDifference), details }));
  return JSON.stringify({ ...report, variants }, null, 2) + '\n';
}

export const CSV_COLUMNS = [
  'target', 'kernel', 'accel', 'variant', 'example', 'tool', 'status', 'skip_kind', 'reason', 'expected', 'matched', 'startup_ms', 'differences',
] as const;

export function csvRows(report: CompareReport): (string | number)[][] {
  return report.variants.map((v) => [
    report.target.kind, report.target.kernel, report.target.accel, v.name, v.example, v.tool, v.status,
    v.skipKind ?? '', v.reason ?? '', v.expected, v.matched, v.startupMs ?? '', v.details.map(renderDifference).join('; '),
  ]);
}

export function toCsv(report: CompareReport): string {
  return stringify(csvRows(report), { header: true, columns: [...CSV_COLUMNS] });
}

/** Exit code per docs/CONTRACT.md: 1 when anything failed or broke, else 0 (skips allowed). */
export const exitCodeFor = (results: VariantResult[]): number => (results.some((r) => r.status === 'fail' || r.status === 'error') ? 1 : 0);

// What grading writes: a CSV for the gradebook (csv-stringify: quoting done right), a Gradescope
// results.json per submission, a JSON report, and a manifest saying what graded what.

import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../../lib/errors.js';
import type { CheckResult } from './lab.js';
import type { GradedSubmission } from './vm.js';

export const CSV_COLUMNS = ['student', 'lab', 'check', 'points', 'max', 'status', 'feedback', 'hidden'] as const;
export type CsvRow = Record<(typeof CSV_COLUMNS)[number], string>;

const num = (n: number) => String(Math.round(n * 100) / 100);

export function total(results: CheckResult[]): { points: number; max: number } {
  return { points: Math.round(results.reduce((s, r) => s + r.points, 0) * 100) / 100, max: results.reduce((s, r) => s + r.max, 0) };
}

/** One row per student and check, then the student's total; students in name order. */
export function csvRows(lab: string, graded: GradedSubmission[]): CsvRow[] {
  const rows: CsvRow[] = [];
  for (const g of [...graded].sort((a, b) => a.student.localeCompare(b.student))) {
    for (const r of g.results) {
      rows.push({ student: g.student, lab, check: r.check, points: num(r.points), max: num(r.max), status: r.status, feedback: r.feedback, hidden: r.hidden ? 'yes' : 'no' });
    }
    const t = total(g.results);
    const status = g.results.some((r) => r.status === 'error') ? 'error' : t.points >= t.max ? 'pass' : t.points > 0 ? 'partial' : 'fail';
    // a row graded again after the emulator's fault says so where the instructor reads the total
    rows.push({ student: g.student, lab, check: 'TOTAL', points: num(t.points), max: num(t.max), status, feedback: (g.regraded ?? []).join('; '), hidden: 'no' });
  }
  return rows;
}

export function toCsv(rows: CsvRow[]): string {
  return stringify(rows, { header: true, columns: [...CSV_COLUMNS], quoted_match: /[\s,"]/ });
}

/** Gradescope's autograder results.json for one submission. */
export function gradescopeResults(g: GradedSubmission): unknown {
  const t = total(g.results);
  return {
    score: t.points,
    ...(g.regraded?.length ? { output: g.regraded.join('\n') } : {}),
    tests: g.results.map((r) => ({
      name: `${r.check}: ${r.name}`,
      score: r.points,
      max_score: r.max,
      status: r.status === 'pass' ? 'passed' : 'failed',
      output: r.feedback,
      visibility: r.hidden ? 'hidden' : 'visible',
    })),
  };
}

/** sha256 over the submission's files (relative path, then content, in path order): the same folder, the same hash. */
export async function hashSubmission(dir: string): Promise<string> {
  const h = createHash('sha256');
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const files = entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
  for (const f of files) {
    h.update(`${f}\0`);
    h.update(await readFile(path.join(dir, f)));
    h.update('\0');
  }
  return h.digest('hex');
}

/**
 * --merge: the CSVs of shards (one per machine) as one: every shard of the same lab, no student graded
 * twice, rows in the same order a single run writes them.
 */
export function mergeCsv(texts: { name: string; text: string }[]): CsvRow[] {
  const rows: CsvRow[] = [];
  const seen = new Map<string, number>(); // student → the index of the file that graded them
  let lab: string | undefined;
  for (const [index, { name, text }] of texts.entries()) {
    const parsed = parse(text, { columns: true, skip_empty_lines: true }) as CsvRow[];
    const header = text.split('\n')[0]!.split(',');
    if (header.join(',') !== CSV_COLUMNS.join(',')) throw new UsageError(`grade --merge: ${name} is not a grade CSV (columns ${CSV_COLUMNS.join(',')})`);
    for (const row of parsed) {
      lab ??= row.lab;
      if (row.lab !== lab) throw new UsageError(`grade --merge: ${name} grades lab ${row.lab}, the others ${lab}`);
      const other = seen.get(row.student);
      if (other !== undefined && other !== index) {
        const first = texts[other]!.name;
        throw new UsageError(`grade --merge: ${row.student} is in both ${first} and ${name}${first === name ? ' (the same file, named twice)' : ''}`);
      }
      seen.set(row.student, index);
      rows.push(row);
    }
  }
  const students = [...new Set(rows.map((r) => r.student))].sort((a, b) => a.localeCompare(b));
  return students.flatMap((s) => rows.filter((r) => r.student === s));
}

/** --shard i/n: the i-th of n parts of the (sorted) students, round robin so parts are even. */
export function shardOf<T>(items: T[], spec: string): T[] {
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  const i = Number(m?.[1]);
  const n = Number(m?.[2]);
  if (!m || n < 1 || i < 1 || i > n) throw new UsageError(`grade: --shard must be i/n with 1 <= i <= n (e.g. 2/4), not "${spec}"`);
  return items.filter((_, k) => k % n === i - 1);
}

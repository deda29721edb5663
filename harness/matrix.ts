// `./lab matrix`: `compare` on each kernel, then one compatibility table — variant × kernel → pass, fail
// or skip with the first line of the reason. `--merge` builds the same table from compare JSON files
// made elsewhere (one CI job per kernel; see .github/workflows/matrix.yml).

import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import Table from 'cli-table3';
import { compareHere, compareOn, type CompareOptions } from './compare-cmd.js';
import { qemuTarget } from './targets.js';
import { parseOptions } from '../lib/args.js';
import { interruptible } from '../lib/process.js';
import { EnvironmentError, UsageError } from '../lib/errors.js';
import { describeTarget, exitCodeFor } from './report.js';
import { ensureSetup } from './setup.js';
import { projectRoot } from './paths.js';
import type { CompareReport, VariantResult } from './types.js';

export const MATRIX_KERNELS = ['5.10', '6.1', '6.12', '7.2', 'host'];

/** One kernel's column: its report, or why the harness could not produce one. */
export interface Column {
  kernel: string;
  report?: CompareReport;
  error?: string;
}

const firstLine = (s: string | undefined): string => (s ?? '').split('\n')[0].trim();

/** The cell for one variant on one kernel. */
function cell(r: VariantResult | undefined, col: Column): { status: string; reason: string } {
  if (col.error) return { status: 'error', reason: col.error };
  if (!r) return { status: '', reason: '' };
  return { status: r.status, reason: r.status === 'pass' ? '' : firstLine(r.reason) };
}

function variantNames(cols: Column[]): string[] {
  return [...new Set(cols.flatMap((c) => c.report?.variants.map((v) => v.name) ?? []))];
}

const heading = (c: Column): string => (c.report ? `${c.kernel} (${c.report.target.kernel})` : c.kernel);

/** Markdown: statuses in the table, each distinct reason once as a numbered note below it. */
export function matrixMarkdown(cols: Column[]): string {
  const notes: string[] = [];
  const note = (reason: string) => {
    let i = notes.indexOf(reason);
    if (i < 0) i = notes.push(reason) - 1;
    return `[${i + 1}]`;
  };
  const rows = variantNames(cols).map((name) => {
    const cells = cols.map((c) => {
      const { status, reason } = cell(c.report?.variants.find((v) => v.name === name), c);
      return reason ? `${status} ${note(reason)}` : status;
    });
    return `| ${name} | ${cells.join(' | ')} |`;
  });
  const targets = cols.filter((c) => c.report).map((c) => `- ${c.kernel}: ${describeTarget(c.report!.target)}`);
  const esc = (s: string) => s.replaceAll('|', '\\|');
  return [
    `| variant | ${cols.map(heading).join(' | ')} |`,
    `| --- | ${cols.map(() => '---').join(' | ')} |`,
    ...rows,
    '',
    ...notes.map((n, i) => `${i + 1}. ${esc(n)}`),
    '',
    ...targets,
    '',
  ].join('\n');
}

export function matrixCsv(cols: Column[]): string {
  const rows = cols.flatMap((c) =>
    c.error
      ? [[c.kernel, '', '', '', 'error', c.error]]
      : (c.report?.variants ?? []).map((v) => [c.kernel, c.report!.target.kernel, c.report!.target.kind, v.name, v.status, firstLine(v.reason)]),
  );
  return stringify(rows, { header: true, columns: ['kernel', 'release', 'target', 'variant', 'status', 'reason'] });
}

export function matrixTable(cols: Column[]): string {
  const table = new Table({ head: ['variant', ...cols.map(heading)], style: { head: [], border: [] } });
  for (const name of variantNames(cols)) {
    table.push([name, ...cols.map((c) => cell(c.report?.variants.find((v) => v.name === name), c).status.toUpperCase())]);
  }
  const reasons = cols.flatMap((c) =>
    c.error ? [`${c.kernel}: ERROR ${c.error}`] : (c.report?.variants ?? []).filter((v) => v.status !== 'pass').map((v) => `${c.kernel} ${v.name}: ${v.status.toUpperCase()} ${firstLine(v.reason)}`),
  );
  return [table.toString(), '', ...reasons].join('\n');
}

const matrixExitCode = (cols: Column[]): number =>
  cols.some((c) => c.error) ? 1 : exitCodeFor(cols.flatMap((c) => c.report?.variants ?? []));

async function runColumn(kernel: string, base: CompareOptions, signal: AbortSignal): Promise<Column> {
  process.stderr.write(`lab matrix: ${kernel}\n`);
  try {
    if (kernel === 'host') return { kernel, report: await compareHere({ ...base, target: 'host', kernel }, signal) };
    const { report } = await compareOn(qemuTarget(kernel), { ...base, target: 'qemu', kernel }, { quiet: true, signal });
    return report ? { kernel, report } : { kernel, error: 'the guest wrote no report' };
  } catch (err) {
    if (signal.aborted) throw err; // Ctrl-C stops the matrix, not just this column
    return { kernel, error: firstLine((err as Error).message) };
  }
}

/** A column from a compare JSON file: its kernel is the file's target. */
async function columnFromFile(file: string): Promise<Column> {
  const report = JSON.parse(await readFile(file, 'utf8')) as CompareReport;
  if (report.schema !== 1) throw new UsageError(`${file}: not a compare --json report (schema ${report.schema})`);
  const kernel = report.target.kind === 'host' ? 'host' : report.target.kernel.split('-')[0].split('.').slice(0, 2).join('.');
  return { kernel, report };
}

/** Where the last `./lab matrix` keeps each kernel's report (notebook 5 draws them): build/matrix/KERNEL.json. */
export const MATRIX_DIR = path.join(projectRoot, 'build', 'matrix');

async function keepColumns(cols: Column[]): Promise<void> {
  await mkdir(MATRIX_DIR, { recursive: true });
  for (const c of cols) if (c.report) await writeFile(path.join(MATRIX_DIR, `${c.kernel}.json`), JSON.stringify(c.report, null, 1));
}

/** The columns the last `./lab matrix` kept, in the matrix's kernel order; none when it never ran here. */
export async function lastMatrix(): Promise<Column[]> {
  const files = existsSync(MATRIX_DIR) ? (await readdir(MATRIX_DIR)).filter((f) => f.endsWith('.json')) : [];
  const cols = await Promise.all(files.map((f) => columnFromFile(path.join(MATRIX_DIR, f))));
  const rank = (k: string) => (MATRIX_KERNELS.includes(k) ? MATRIX_KERNELS.indexOf(k) : MATRIX_KERNELS.length);
  return cols.sort((a, b) => rank(a.kernel) - rank(b.kernel));
}

export async function matrixCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions({
    args: argv,
    allowPositionals: true,
    options: {
      kernels: { type: 'string', default: MATRIX_KERNELS.join(',') },
      csv: { type: 'string' },
      md: { type: 'string' },
      merge: { type: 'boolean', default: false },
      serial: { type: 'boolean', default: false },
    },
  });
  let cols: Column[];
  if (values.merge) {
    if (positionals.length === 0) throw new UsageError('--merge takes compare --json files: ./lab matrix --merge results/*.json');
    cols = await Promise.all(positionals.map(columnFromFile));
  } else {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (files go with --merge)`);
    const kernels = values.kernels!.split(',').filter(Boolean);
    const vmKernels = kernels.filter((k) => k !== 'host');
    await ensureSetup({ build: true, kernels: vmKernels, log: (l) => process.stderr.write(`lab matrix: ${l}\n`) });
    const base: CompareOptions = { target: 'qemu', kernel: '', examples: [], tools: [], serial: values.serial!, verbose: false };
    cols = await interruptible(async (signal) => {
      const done: Column[] = [];
      for (const k of kernels) done.push(await runColumn(k, base, signal));
      return done;
    });
  }
  if (cols.length === 0) throw new EnvironmentError('no kernel to run');
  if (!values.merge) await keepColumns(cols);
  process.stdout.write(matrixTable(cols) + '\n');
  if (values.md) await writeFile(values.md, matrixMarkdown(cols));
  if (values.csv) await writeFile(values.csv, matrixCsv(cols));
  return matrixExitCode(cols);
}

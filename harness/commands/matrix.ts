// `./lab matrix`: `compare` on each kernel, then one compatibility table — variant × kernel → pass, fail
// or skip with the first line of the reason. `--merge` builds the same table from compare JSON files
// made elsewhere (one CI job per kernel; see .github/workflows/matrix.yml).

import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import Table from 'cli-table3';
import { compareHere, compareOn, selectVariants, type CompareOptions } from './compare.js';
import { classify, CLASS_LABEL, CLASSES, formatBaseline, parseBaseline, updateBaseline, type Baseline, type Cell, type CellRun, type ClassifiedCell, type KernelInfo } from './baseline.js';
import { defaultHistoryDir, formatHistory, isRecord, loadRecords, saveRecord, type MatrixRecord } from './matrix-history.js';
import { headline, matrixJunit, matrixSummaryMarkdown, recordFailed } from './matrix-outputs.js';
import { variantName } from '../engine/variant.js';
import type { CachedKernel } from '../../vm/kernels.js';
import { qemuTarget } from '../engine/targets.js';
import { parseOptions } from '../../lib/args.js';
import { interruptible } from '../../lib/process.js';
import { EnvironmentError, UsageError } from '../../lib/errors.js';
import { describeTarget } from '../engine/report.js';
import { ensureSetup } from '../engine/setup.js';
import { projectRoot } from '../engine/paths.js';
import type { CompareReport, VariantResult } from '../engine/types.js';

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

const heading = (c: Column): string => (c.report && c.report.target.kernel !== c.kernel ? `${c.kernel} (${c.report.target.kernel})` : c.kernel);

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

/** One row per kernel and variant; with the classified cells, each row also says its class and its runs. */
export function matrixCsv(cols: Column[], cells?: ClassifiedCell[]): string {
  const more = (kernel: string, variant: string) => {
    if (!cells) return [];
    const c = cells.find((x) => x.kernel === kernel && x.variant === variant);
    return [c?.class ?? '', c?.runs.map((r) => r.status).join(' ') ?? ''];
  };
  const rows = cols.flatMap((c) =>
    c.error
      ? [[c.kernel, '', '', '', 'error', c.error, ...(cells ? ['not-run', ''] : [])]]
      : (c.report?.variants ?? []).map((v) => [c.kernel, c.report!.target.kernel, c.report!.target.kind, v.name, v.status, firstLine(v.reason), ...more(c.kernel, v.name)]),
  );
  return stringify(rows, { header: true, columns: ['kernel', 'release', 'target', 'variant', 'status', 'reason', ...(cells ? ['class', 'runs'] : [])] });
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

/** A kernel's column plus what the matrix knows about its kernel (its exact package) and each variant's reruns. */
export interface RanColumn extends Column {
  info: KernelInfo;
  /** Variant name → the results of its reruns, in order. */
  reruns: Map<string, VariantResult[]>;
}

/** Workload cases a result graded as failures ('' when the variant failed as a whole: no attach, no output). */
export function failingCases(r: VariantResult): string[] {
  const cases = [...new Set((r.details ?? []).filter((d) => d.level === 'failure').map((d) => d.case))];
  return cases.length ? cases : [''];
}

const cellRun = (r: VariantResult): CellRun => ({
  status: r.status,
  ...(r.status === 'pass' ? {} : { reason: firstLine(r.reason) }),
  ...(r.status === 'fail' || r.status === 'error' ? { failingCases: failingCases(r) } : {}),
});

/** The matrix's cells: one per kernel and variant, each with its runs; a kernel that did not run gives cells "not run". */
export function cellsOf(cols: RanColumn[], variants: string[]): Cell[] {
  const names = [...new Set([...variants, ...variantNames(cols)])];
  return cols.flatMap((c) =>
    names
      .filter((name) => c.error || c.report?.variants.some((v) => v.name === name))
      .map((name): Cell => {
        if (c.error || !c.report) return { kernel: c.kernel, variant: name, runs: [], notRun: c.error };
        const first = c.report.variants.find((v) => v.name === name)!;
        return { kernel: c.kernel, variant: name, runs: [first, ...(c.reruns.get(name) ?? [])].map(cellRun) };
      }),
  );
}

function kernelInfoOf(c: Column, pkg?: string): KernelInfo {
  const info: KernelInfo = { kernel: c.kernel };
  if (c.report) {
    info.release = c.report.target.kernel;
    info.target = c.report.target;
  }
  if (pkg) info.package = pkg;
  if (c.error) info.error = c.error;
  return info;
}

/** The exact package a Debian kernel column booted: "linux-image-6.1.0-50-amd64 6.1.176-1". */
async function debianPackage(kernel: string): Promise<string | undefined> {
  if (kernel === 'host') return undefined;
  const { readCachedKernel } = await import('../../vm/kernels.js');
  const cached = await readCachedKernel(kernel, { keepBroken: true }).catch(() => undefined);
  return cached ? `linux-image-${cached.release} ${cached.debianVersion}` : undefined;
}

interface ColumnPlan {
  kernel: string;
  /** A kernel brought with --kernel-image. */
  files?: CachedKernel;
}

async function runOn(plan: ColumnPlan, o: CompareOptions, signal: AbortSignal): Promise<CompareReport> {
  if (plan.kernel === 'host') return compareHere({ ...o, target: 'host', kernel: 'host' }, signal);
  if (!plan.files) await ensureSetup({ kernels: [plan.kernel], log: (l) => process.stderr.write(`lab matrix: ${l}\n`) });
  const { report } = await compareOn(qemuTarget(plan.kernel, plan.files), { ...o, target: 'qemu', kernel: plan.kernel }, { quiet: true, signal });
  if (!report) throw new EnvironmentError('the guest wrote no report');
  return report;
}

async function runColumn(plan: ColumnPlan, base: CompareOptions, signal: AbortSignal): Promise<RanColumn> {
  const { kernel } = plan;
  process.stderr.write(`lab matrix: ${kernel}\n`);
  let col: Column;
  try {
    col = { kernel, report: await runOn(plan, base, signal) };
  } catch (err) {
    if (signal.aborted) throw err; // Ctrl-C stops the matrix, not just this column
    col = { kernel, error: firstLine((err as Error).message) };
  }
  const pkg = plan.files ? plan.files.debianVersion : await debianPackage(kernel);
  return { ...col, info: kernelInfoOf(col, pkg), reruns: new Map() };
}

/**
 * Rerun the failing cells (`reruns` times at most each): per kernel, only the variants that failed and have
 * not passed since, in one compare on that kernel. Returns how many cell runs that was.
 */
async function rerunFailures(cols: RanColumn[], plans: ColumnPlan[], base: CompareOptions, reruns: number, signal: AbortSignal): Promise<number> {
  let ran = 0;
  for (let round = 1; round <= reruns; round++) {
    for (const col of cols) {
      if (!col.report) continue;
      const stillFailing = col.report.variants
        .filter((v) => v.status === 'fail' || v.status === 'error')
        .map((v) => v.name)
        .filter((name) => !(col.reruns.get(name) ?? []).some((r) => r.status === 'pass'));
      if (stillFailing.length === 0) continue;
      process.stderr.write(`lab matrix: ${col.kernel}: rerun ${round} of ${reruns}: ${stillFailing.join(', ')}\n`);
      try {
        const report = await runOn(plans.find((p) => p.kernel === col.kernel)!, { ...base, variants: stillFailing }, signal);
        for (const name of stillFailing) {
          const r = report.variants.find((v) => v.name === name);
          if (!r) continue;
          col.reruns.set(name, [...(col.reruns.get(name) ?? []), r]);
          ran++;
        }
      } catch (err) {
        if (signal.aborted) throw err;
        // the infrastructure failed, not the cells: this rerun tells nothing about them
        process.stderr.write(`lab matrix: ${col.kernel}: rerun ${round} did not run: ${firstLine((err as Error).message)}\n`);
      }
    }
  }
  return ran;
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

/** A run record's columns again (for the tables), from its kernels and each cell's first run. */
function columnsOfRecord(record: MatrixRecord): RanColumn[] {
  return record.kernels.map((k): RanColumn => {
    const reruns = new Map<string, VariantResult[]>();
    const asResult = (c: ClassifiedCell, r: CellRun): VariantResult => {
      const [example, tool] = c.variant.split('/');
      return { name: c.variant, example, tool, status: r.status, reason: r.reason, expected: 0, matched: 0, details: (r.failingCases ?? []).map((cs) => ({ case: cs, level: 'failure', kind: 'recorded', text: r.reason ?? '' })) };
    };
    if (k.error || !k.target) return { kernel: k.kernel, error: k.error ?? 'no report', info: k, reruns };
    const cells = record.cells.filter((c) => c.kernel === k.kernel && c.runs.length > 0);
    for (const c of cells) if (c.runs.length > 1) reruns.set(c.variant, c.runs.slice(1).map((r) => asResult(c, r)));
    return { kernel: k.kernel, report: { schema: 1, target: k.target, variants: cells.map((c) => asResult(c, c.runs[0])) }, info: k, reruns };
  });
}

/** `--merge` inputs: compare --json reports (one column each) or matrix run records (--json; their columns and reruns). */
async function mergeInputs(files: string[]): Promise<{ cols: RanColumn[]; rerunsRun: number; reruns: number }> {
  const cols: RanColumn[] = [];
  let rerunsRun = 0;
  let reruns = 0;
  for (const file of files) {
    const data = JSON.parse(await readFile(file, 'utf8')) as unknown;
    if (isRecord(data)) {
      cols.push(...columnsOfRecord(data));
      rerunsRun += data.rerunsRun;
      reruns = Math.max(reruns, data.reruns);
    } else {
      const col = await columnFromFile(file);
      cols.push({ ...col, info: kernelInfoOf(col), reruns: new Map() });
    }
  }
  const names = cols.map((c) => c.kernel);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new UsageError(`--merge: two inputs for kernel ${twice}`);
  return { cols, rerunsRun, reruns };
}

const USAGE_KERNELS = `${MATRIX_KERNELS.join(',')}; also a suite (bookworm-backports) or an exact Debian kernel (6.1.0-47)`;

export async function matrixCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions({
    args: argv,
    allowPositionals: true,
    options: {
      kernels: { type: 'string' },
      'kernel-image': { type: 'string' },
      modules: { type: 'string' },
      example: { type: 'string', multiple: true },
      tool: { type: 'string', multiple: true },
      csv: { type: 'string' },
      md: { type: 'string' },
      json: { type: 'string' },
      junit: { type: 'string' },
      summary: { type: 'string' },
      baseline: { type: 'string' },
      'update-baseline': { type: 'boolean', default: false },
      reruns: { type: 'string', default: '1' },
      merge: { type: 'boolean', default: false },
      history: { type: 'boolean', default: false },
      last: { type: 'string', default: '10' },
      'history-dir': { type: 'string' },
      serial: { type: 'boolean', default: false },
    },
  });
  const historyDir = values['history-dir'] ?? defaultHistoryDir();
  if (values.history) {
    const n = Number(values.last);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--last ${values.last}: a positive whole number of runs`);
    process.stdout.write(formatHistory(await loadRecords(historyDir), n) + '\n');
    return 0;
  }
  let reruns = Number(values.reruns);
  if (!Number.isInteger(reruns) || reruns < 0) throw new UsageError(`--reruns ${values.reruns}: a whole number ≥ 0`);
  if (values['update-baseline'] && !values.baseline) throw new UsageError('--update-baseline writes the file --baseline names: give --baseline FILE');
  if (values.modules && !values['kernel-image']) throw new UsageError('--modules goes with --kernel-image');
  // a baseline that does not parse is bad usage before anything runs; a missing one is fine only when it is to be written
  let baseline: Baseline | undefined;
  if (values.baseline) {
    const text = await readFile(values.baseline, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' && values['update-baseline']) return undefined;
      throw new UsageError(`--baseline ${values.baseline}: ${err.code === 'ENOENT' ? 'no such file (--update-baseline writes one)' : err.message}`);
    });
    if (text !== undefined) baseline = await parseBaseline(text, values.baseline);
  }
  const startedAt = new Date().toISOString();
  let cols: RanColumn[];
  let rerunsRun = 0;
  let variants: string[] = [];
  const examples = (values.example ?? []).flatMap((x) => x.split(',')).filter(Boolean);
  const tools = (values.tool ?? []).flatMap((x) => x.split(',')).filter(Boolean);
  if (values.merge) {
    if (positionals.length === 0) throw new UsageError('--merge takes compare --json reports or matrix --json records: ./lab matrix --merge results/*.json');
    // nothing is rerun here: the records say how many reruns their own runs made
    ({ cols, rerunsRun, reruns } = await mergeInputs(positionals));
  } else {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (files go with --merge)`);
    const { kernelSpec } = await import('../../vm/kernels.js');
    const kernels = (values.kernels ?? (values['kernel-image'] ? '' : MATRIX_KERNELS.join(','))).split(',').filter(Boolean);
    for (const k of kernels) if (k !== 'host') kernelSpec(k); // unknown names are bad usage now, not a column later
    const plans: ColumnPlan[] = kernels.map((kernel) => ({ kernel }));
    if (values['kernel-image']) {
      // checked before anything boots: no BTF, a missing option or modules end the command here (exit 2)
      const { prepareKernelImage } = await import('../../vm/custom-kernel.js');
      const files = await prepareKernelImage(values['kernel-image'], { modules: values.modules, onProgress: (l) => process.stderr.write(`lab matrix: ${l}\n`) });
      if (plans.some((p) => p.kernel === files.release)) throw new UsageError(`--kernel-image: a kernel named ${files.release} is already in --kernels`);
      plans.push({ kernel: files.release, files });
    }
    if (plans.length === 0) throw new UsageError(`no kernel to run (--kernels ${USAGE_KERNELS})`);
    const base: CompareOptions = { target: 'qemu', kernel: '', examples, tools, serial: values.serial!, verbose: false };
    variants = selectVariants(base).map(variantName);
    if (variants.length === 0) throw new UsageError('no variant matches --example/--tool');
    await ensureSetup({ build: true, log: (l) => process.stderr.write(`lab matrix: ${l}\n`) });
    ({ cols, rerunsRun } = await interruptible(async (signal) => {
      const done: RanColumn[] = [];
      for (const plan of plans) done.push(await runColumn(plan, base, signal));
      const ran = reruns > 0 ? await rerunFailures(done, plans, base, reruns, signal) : 0;
      return { cols: done, rerunsRun: ran };
    }));
    // build/matrix holds whole columns for notebook 5: a run of some variants (--example, --tool) or a kernel
    // brought as a file does not replace them
    if (examples.length === 0 && tools.length === 0) await keepColumns(cols.filter((c) => !plans.find((p) => p.kernel === c.kernel)?.files));
  }
  if (cols.length === 0) throw new EnvironmentError('no kernel to run');
  const kernelInfos = cols.map((c) => c.info);
  const cells = classify(cellsOf(cols, variants), kernelInfos, baseline, startedAt.slice(0, 10));
  const record: MatrixRecord = {
    schema: 1,
    kind: 'ebpf-lab-matrix',
    startedAt,
    finishedAt: new Date().toISOString(),
    ...(values.baseline ? { baseline: values.baseline } : {}),
    reruns,
    rerunsRun,
    kernels: kernelInfos,
    cells,
  };
  process.stdout.write(matrixTable(cols) + '\n');
  process.stdout.write(classifiedLines(record) + '\n');
  const kept = await saveRecord(historyDir, record);
  process.stderr.write(`lab matrix: this run's record: ${kept} (./lab matrix --history)\n`);
  if (values.md) await writeFile(values.md, matrixMarkdown(cols));
  if (values.csv) await writeFile(values.csv, matrixCsv(cols, cells));
  if (values.json) await writeFile(values.json, JSON.stringify(record, null, 1) + '\n');
  if (values.junit) await writeFile(values.junit, matrixJunit(record));
  if (values.summary) await writeFile(values.summary, matrixSummaryMarkdown(record));
  if (values['update-baseline']) {
    await writeFile(values.baseline!, await formatBaseline(updateBaseline(baseline, cells, kernelInfos), values.baseline!));
    process.stderr.write(`lab matrix: wrote the baseline ${values.baseline} from this run (reasons, links and expiry dates kept)\n`);
    return 0;
  }
  return recordFailed(record) ? 1 : 0;
}

/** After the table: every cell that is not simply as expected, worst first, then the headline. */
export function classifiedLines(record: MatrixRecord): string {
  const lines = CLASSES.filter((c) => c !== 'as-expected').flatMap((cls) =>
    record.cells.filter((c) => c.class === cls).map((c) => `${CLASS_LABEL[cls].toUpperCase()} ${c.kernel} ${c.variant}: ${c.reason}`),
  );
  const pins = record.kernels.filter((k) => k.package).map((k) => `${k.kernel}: ${k.package}`);
  return [
    '',
    ...lines,
    ...(lines.length ? [''] : []),
    `matrix: ${headline(record)}; ${record.rerunsRun} rerun${record.rerunsRun === 1 ? '' : 's'} of failing cells (--reruns ${record.reruns})${record.baseline ? `; baseline ${record.baseline}` : ''}`,
    ...(pins.length ? [`kernels: ${pins.join('; ')}`] : []),
  ].join('\n');
}

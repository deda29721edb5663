// The matrix's run record (`./lab matrix --json F`, and one file per run under the history folder) and the
// history view (`./lab matrix --history`): per cell, its last N results as a compact row, oldest first, so a
// maintainer sees when a cell started failing.

import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { cacheDir } from '../../vm/cache.js';
import type { CellClass, ClassifiedCell, KernelInfo } from './baseline.js';

export interface MatrixRecord {
  schema: 1;
  kind: 'ebpf-lab-matrix';
  startedAt: string;
  finishedAt: string;
  /** The baseline file it was classified against, if any. */
  baseline?: string;
  /** --reruns: how many times a failing cell was run again at most. */
  reruns: number;
  /** Reruns that actually ran (cell runs, not VM boots). */
  rerunsRun: number;
  kernels: KernelInfo[];
  cells: ClassifiedCell[];
}

/** Where run records are kept unless --history-dir says otherwise. */
export const defaultHistoryDir = (): string => path.join(cacheDir(), 'matrix-history');

/** Keep one run's record; file names sort by time. */
export async function saveRecord(dir: string, record: MatrixRecord): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${record.startedAt.replace(/[:.]/g, '-')}-${process.pid}.json`);
  await writeFile(file, JSON.stringify(record, null, 1) + '\n');
  return file;
}

export const isRecord = (data: unknown): data is MatrixRecord => Boolean(data && typeof data === 'object' && (data as MatrixRecord).kind === 'ebpf-lab-matrix' && (data as MatrixRecord).schema === 1);

/** Every record in `dir`, oldest first (by startedAt). Files that are not records are passed over. */
export async function loadRecords(dir: string): Promise<MatrixRecord[]> {
  if (!existsSync(dir)) return [];
  const out: MatrixRecord[] = [];
  for (const name of (await readdir(dir)).filter((n) => n.endsWith('.json')).sort()) {
    const data = await readFile(path.join(dir, name), 'utf8').then((t) => JSON.parse(t) as unknown, () => undefined);
    if (isRecord(data)) out.push(data);
  }
  return out.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/** One character per result. */
export const SYMBOL: Record<CellClass | 'pass' | 'fail' | 'skip' | 'absent', string> = {
  pass: '✓',
  fail: '✗',
  skip: '–',
  flaky: '≈',
  'not-run': '?',
  absent: '·',
  'as-expected': '',
  'new-failure': '',
  'newly-passing': '',
  'known-failure': '',
  expired: '',
};

export const HISTORY_LEGEND = '✓ pass  ✗ fail  ≈ flaky (failed, then passed on a rerun)  – skip  ? not run (infrastructure)  · not in that run';

/** The symbol of one cell in one run. */
export function cellSymbol(c: ClassifiedCell | undefined): string {
  if (!c) return SYMBOL.absent;
  if (c.class === 'not-run') return SYMBOL['not-run'];
  if (c.class === 'flaky') return SYMBOL.flaky;
  if (c.status === 'pass') return SYMBOL.pass;
  if (c.status === 'skip') return SYMBOL.skip;
  return SYMBOL.fail;
}

export interface HistoryRow {
  kernel: string;
  variant: string;
  /** Oldest first, one symbol per run. */
  row: string;
  /** The newest run's class and reason. */
  last?: ClassifiedCell;
}

/** Per (kernel, variant) seen in the last `n` records, its row of symbols, oldest first. */
export function historyRows(records: MatrixRecord[], n: number): HistoryRow[] {
  const recent = records.slice(-n);
  const keys: { kernel: string; variant: string }[] = [];
  for (const r of recent) for (const c of r.cells) if (!keys.some((k) => k.kernel === c.kernel && k.variant === c.variant)) keys.push({ kernel: c.kernel, variant: c.variant });
  return keys.map(({ kernel, variant }) => {
    const cells = recent.map((r) => r.cells.find((c) => c.kernel === kernel && c.variant === variant));
    return { kernel, variant, row: cells.map(cellSymbol).join(''), last: [...cells].reverse().find(Boolean) };
  });
}

/** The history as text: a header with each run's time, then one line per cell. */
export function formatHistory(records: MatrixRecord[], n: number): string {
  const recent = records.slice(-n);
  if (recent.length === 0) return 'no matrix run recorded yet';
  const rows = historyRows(records, n);
  const kw = Math.max(6, ...rows.map((r) => r.kernel.length));
  const vw = Math.max(7, ...rows.map((r) => r.variant.length));
  const lines = [
    `${recent.length} run(s), oldest first: ${recent[0].startedAt} … ${recent[recent.length - 1].startedAt}`,
    `${'kernel'.padEnd(kw)}  ${'variant'.padEnd(vw)}  runs`,
    ...rows.map((r) => {
      const note = r.last && r.last.class !== 'as-expected' ? `  ${r.last.class}: ${r.last.reason}` : '';
      return `${r.kernel.padEnd(kw)}  ${r.variant.padEnd(vw)}  ${r.row.padEnd(recent.length)}${note}`;
    }),
    '',
    HISTORY_LEGEND,
  ];
  return lines.join('\n');
}

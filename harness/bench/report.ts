// The bench as a person reads it (one table, a row per variant) and as a script reads it (CSV, a row per
// variant with every figure in its own column). The JSON is the report itself (types.ts).

import Table from 'cli-table3';
import { stringify } from 'csv-stringify/sync';
import { describeTarget } from '../engine/report.js';
import type { Spread } from './measure.js';
import type { BenchReport, VariantBench } from './types.js';

const ms = (s: Spread | undefined): string => (s ? `${Math.round(s.median)} (${Math.round(s.min)}–${Math.round(s.max)})` : '');
const mb = (bytes: number | undefined): string => (bytes === undefined ? '' : (bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0));
const pct = (x: number | undefined): string => (x === undefined ? '' : `${(x * 100).toFixed(1)}%`);

function loss(v: VariantBench): string {
  const a = v.storm?.account;
  if (!a) return v.storm ? 'n/a' : '';
  const parts = [`${a.received}/${a.kernel}`];
  if (a.reportedLost) parts.push(`lost ${a.reportedLost}`);
  if (a.silentlyMissing) parts.push(`missing ${a.silentlyMissing}`);
  return parts.join(', ');
}

/** The bench's table as rows (the columns of formatBench's table), for an HTML table in a notebook. */
export function benchRows(r: BenchReport): Record<string, string>[] {
  const head = benchHead(r);
  return r.variants.map((v) => {
    if (v.status === 'skip' || !v.startup) return { [head[0]!]: v.name, [head[1]!]: `${v.status}: ${v.reason ?? ''}`.slice(0, 110) };
    const cells = [
      v.name + (v.status === 'fail' ? ' FAIL' : ''),
      ms(v.startup.readyMs),
      ms(v.startup.firstEventMs),
      v.memory ? (v.memory.rssKb / 1024).toFixed(1) : '',
      v.memory ? (v.memory.kernelBytes / 1024).toFixed(0) : '',
      loss(v),
      v.cost?.nsPerExec === undefined ? '' : Math.round(v.cost.nsPerExec).toString(),
      v.storm ? `${Math.round(v.storm.rate)}/s ${pct(v.storm.ratio)}` : '',
      mb(v.footprint?.bytes),
      String(v.loc),
    ];
    return Object.fromEntries(head.map((h, i) => [h, cells[i]!]));
  });
}

const benchHead = (r: BenchReport): string[] => ['variant', 'ready ms', 'first event ms', 'RSS MB', 'kernel KB', `storm ${r.storm}: seen`, 'ns/exec (BPF)', 'exec rate', 'on disk MB', 'LoC'];

/** The bench as text: the table, then what it means; `table: false` leaves the table out (a notebook shows it as HTML). */
export function formatBench(r: BenchReport, opts: { table?: boolean } = {}): string {
  const head = benchHead(r);
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const [i, row] of benchRows(r).entries()) {
    const v = r.variants[i]!;
    if (v.status === 'skip' || !v.startup) t.push([v.name, { colSpan: head.length - 1, content: row[head[1]!]! }]);
    else t.push(head.map((h) => row[h]!));
  }
  const lines = [
    `target: ${describeTarget(r.target)}; ${r.repeats} starts per variant (median, min–max), storm of ${r.storm} execs; ${(r.durationMs / 1000).toFixed(0)} s`,
    ...(opts.table === false ? [] : [t.toString()]),
  ];
  if (r.untracedRate) lines.push(`untraced exec rate (the ceiling): ${Math.round(r.untracedRate.median)}/s (${Math.round(r.untracedRate.min)}–${Math.round(r.untracedRate.max)}), one run before each traced one; "exec rate" is traced, and its share of the run before it`);
  if (r.build) lines.push(`libbpf build: BPF object ${r.build.objectMs} ms, skeleton ${r.build.skeletonMs} ms, binary ${r.build.binaryMs} ms`);
  for (const v of r.variants) if (v.status === 'fail' && v.startup) lines.push(`${v.name}: ${v.reason}`);
  const phased = r.variants.filter((v) => v.startup?.phases);
  if (phased.length) {
    lines.push('start-up phases (median ms; the first is from launch: the runtime and its modules):');
    for (const v of phased) lines.push(`  ${v.name}: ${Object.entries(v.startup!.phases!).map(([k, s]) => `${k} ${Math.round(s.median)}`).join(', ')}`);
  }
  const lossy = r.variants.filter((v) => v.storm?.lossExplained);
  if (lossy.length) {
    lines.push('why events were lost:');
    for (const v of lossy) lines.push(`  ${v.name}: ${v.storm!.lossExplained}`);
  }
  lines.push('RSS: the peak resident set (VmHWM) of the tracer\'s processes, summed; kernel KB: memlock of its maps and programs.');
  lines.push('ns/exec: run_time_ns of all its programs during the storm (BPF_ENABLE_STATS) divided by the execs.');
  lines.push('', 'Published figures (other machines and versions: the ranking is what compares):');
  for (const p of r.published) lines.push(`- ${p.what}: ${p.figure} — ${p.source}`);
  return lines.join('\n');
}

export const BENCH_CSV_COLUMNS = [
  'variant', 'status', 'reason', 'ready_ms_min', 'ready_ms_median', 'ready_ms_max', 'first_event_ms_median', 'rss_kb', 'kernel_bytes',
  'storm', 'kernel_count', 'received', 'reported_lost', 'silently_missing', 'closes', 'traced_rate', 'untraced_rate', 'rate_ratio',
  'ns_per_exec', 'footprint_bytes', 'loc', 'kernel', 'target', 'accel', 'boot_ms',
] as const;

export function benchCsv(r: BenchReport): string {
  const rows = r.variants.map((v) => {
    const a = v.storm?.account;
    return [
      v.name, v.status, v.reason ?? '', v.startup?.readyMs.min, v.startup?.readyMs.median, v.startup?.readyMs.max, v.startup?.firstEventMs?.median,
      v.memory?.rssKb, v.memory?.kernelBytes, r.storm, a?.kernel, a?.received, a?.reportedLost, a?.silentlyMissing, a?.closes,
      v.storm?.rate === undefined ? '' : Math.round(v.storm.rate), v.baseline ? Math.round(v.baseline.rate) : '', v.storm?.ratio?.toFixed(4),
      v.cost?.nsPerExec?.toFixed(0), v.footprint?.bytes, v.loc, r.target.kernel, r.target.kind, r.target.accel, r.target.bootMs,
    ].map((x) => (x === undefined ? '' : x));
  });
  return stringify([[...BENCH_CSV_COLUMNS], ...rows]);
}

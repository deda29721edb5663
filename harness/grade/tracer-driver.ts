// The tracer labs' driver (labs 3–6: a student's execsnoop in bpftrace or libbpf C). Bundled and run in
// the sandbox with the submission's folder as cwd, like a TypeScript lab's driver: it builds the
// submission (a failure is "does not compile", with the compiler's first errors), starts the student's
// tracer through the harness's own session (harness/session.ts: ready line, workload, drain, SIGINT),
// and grades what the tracer printed with the examples' execsnoop reader and grader, once per check
// (each check is a view: the expectations it holds the output to, over the workload cases it names).
// Everything it starts is inside the sandbox's cgroup, so its limits hold for the tracer too.

import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { report, tally, type Tally } from './driver-api.js';
import { parseExecsnoop } from '../examples/execsnoop/parse.js';
import { gradeExecsnoop } from '../examples/execsnoop/grade.js';
import type { ExecsnoopExpectations, ExecsnoopParserName } from '../examples/execsnoop/variants.js';
import { runSession } from '../session.js';
import { runWorkload } from '../workload.js';
import type { WorkloadRun } from '../types.js';
import type { Variant } from '../variant.js';

export interface TracerView {
  /** Overrides of the lab's expectations for this check (e.g. ppid: true only for the PPID check). */
  expect?: Partial<ExecsnoopExpectations>;
  /** The workload cases this check grades; all of the lab's when absent. */
  cases?: string[];
}

export interface TracerConfig {
  /** Commands run first, in order, in the submission's folder: a failure is the submission's "does not compile". */
  build?: string[][];
  /** The student's tracer, relative to the submission's folder. */
  command: string[];
  /** The line that says it is attached (a RegExp's source). */
  ready: string;
  parser: ExecsnoopParserName;
  attachTimeoutMs: number;
  /** Workload cases run once for every view (harness/workload.ts CASES). */
  cases: string[];
  /** What a correct submission prints: the view every check starts from. */
  expect: ExecsnoopExpectations;
  /** Check id → its view. */
  views: Record<string, TracerView>;
  /** A map of the student's whose entries are counted after the workload, while the tracer still runs. */
  countMap?: string;
  /**
   * A C header of the submission's whose `#define MAX_ARGS` and `#define ARGSIZE` set the caps it is held
   * to (lab 5: the student picks them): maxArgs = MAX_ARGS, maxArgLen = ARGSIZE - 1.
   */
  capsFrom?: string;
  /** Timeouts are multiplied by it (10 under TCG). */
  slowdown: number;
}

export interface TracerReport {
  /** The submission failed before it attached: it did not build, the verifier said no, it crashed. */
  error?: string;
  detail?: string[];
  /** libbpf's verifier log: the complaint, the instruction and the source line it points at. */
  rejected?: { words: string; at?: string; source?: string };
  views?: Record<string, Tally>;
  /** Entries left in `countMap` after the workload (-1: the map was not found). */
  leftInMap?: number;
  /** The tracer's own trouble after it attached (exit status, a hung stop). */
  trouble?: string;
}

/**
 * The verifier's rejection in libbpf's warning output: the complaint is the last line of the log before
 * its statistics, the instruction the last `N: (..)` line before that, the source line the last `; …`.
 */
export function libbpfRejection(stderr: string): TracerReport['rejected'] {
  const m = /-- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/.exec(stderr);
  if (!m) return undefined;
  const lines = m[1]!.split('\n').map((l) => l.replace(/^libbpf: /, '').trim()).filter(Boolean);
  const stats = /^(processed \d+ insns|verification time|stack depth|mark_read|peak_states)/;
  let i = lines.length - 1;
  while (i >= 0 && stats.test(lines[i]!)) i--;
  if (i < 0) return undefined;
  const words = lines[i]!;
  const lastIndex = (end: number, test: (l: string) => boolean) => {
    for (let j = end - 1; j >= 0; j--) if (test(lines[j]!)) return j;
    return -1;
  };
  const insnAt = lastIndex(i, (l) => /^\d+: \(/.test(l));
  const at = insnAt >= 0 ? lines[insnAt]!.replace(/\s*;.*$/, '') : undefined;
  const sourceAt = insnAt >= 0 ? lastIndex(insnAt, (l) => l.startsWith('; ')) : -1;
  const source = sourceAt >= 0 ? lines[sourceAt]!.slice(2) : undefined;
  return { words, ...(at ? { at } : {}), ...(source ? { source } : {}) };
}

/** A view's tally: the share of its cases whose outcome is what the view expects, the first one wrong. */
export function viewTally(run: WorkloadRun, stdout: string, config: TracerConfig, view: TracerView): Tally {
  const cases = view.cases ?? config.cases;
  // a case's launcher exec ("from-thread:launcher": node starting the helper) goes with it: it explains an event
  const execs = run.execs.filter((t) => cases.includes(t.id.replace(/:launcher$/, '')));
  const grade = gradeExecsnoop({ ...run, execs }, parseExecsnoop(config.parser, stdout), { ...config.expect, ...view.expect });
  const extra = grade.differences.filter((d) => d.kind === 'extra');
  return tally([
    ...grade.cases.map((c) => ({
      name: c.id,
      ok: c.verdict === 'matched' || c.verdict === 'expected-missing',
      // the case's first failure, not the expected differences listed before it
      detail: grade.differences.find((d) => d.case === c.id && d.level === 'failure')?.text ?? c.notes.at(-1),
    })),
    ...(extra.length > 0 ? [{ name: 'extra events', ok: false, detail: extra[0]!.text }] : []),
  ]);
}

async function countEntries(name: string): Promise<number> {
  const r = await execa('bpftool', ['map', 'dump', 'name', name, '-j'], { reject: false });
  if (r.exitCode !== 0) return -1;
  try {
    return (JSON.parse(String(r.stdout)) as unknown[]).length;
  } catch {
    return -1;
  }
}

/** MAX_ARGS and ARGSIZE as a C header defines them (plain numbers), or undefined for either not found. */
export function headerCaps(text: string): { maxArgs?: number; argSize?: number } {
  const num = (name: string) => {
    const m = new RegExp(`^\\s*#\\s*define\\s+${name}\\s+\\(?(\\d+)\\)?\\s*(?:/[*/].*)?$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const maxArgs = num('MAX_ARGS');
  const argSize = num('ARGSIZE');
  return { ...(maxArgs !== undefined ? { maxArgs } : {}), ...(argSize !== undefined ? { argSize } : {}) };
}

export async function drive(config: TracerConfig): Promise<TracerReport> {
  if (config.capsFrom) {
    const caps = headerCaps(readFileSync(config.capsFrom, 'utf8'));
    if (caps.maxArgs === undefined || caps.argSize === undefined) {
      return { error: `${config.capsFrom}: no #define MAX_ARGS N and #define ARGSIZE N (plain numbers) found: the grader holds the output to them` };
    }
    config = { ...config, expect: { ...config.expect, maxArgs: caps.maxArgs, maxArgLen: caps.argSize - 1 } };
  }
  for (const cmd of config.build ?? []) {
    const r = await execa(cmd[0]!, cmd.slice(1), { reject: false, all: true, stdin: 'ignore' });
    if (r.exitCode !== 0) {
      const lines = String(r.all ?? '').split('\n').filter(Boolean);
      const errors = lines.filter((l) => /\berror\b/i.test(l));
      return { error: `does not compile (${cmd[0]} exited with ${r.exitCode ?? r.signal})`, detail: (errors.length > 0 ? errors : lines).slice(0, 3) };
    }
  }
  const variant: Variant = {
    example: 'execsnoop',
    tool: 'submission',
    description: 'the submission',
    sources: [],
    requires: [],
    command: config.command,
    ready: new RegExp(config.ready),
    attachTimeoutMs: config.attachTimeoutMs,
    expect: config.expect,
    parser: config.parser,
  } as Variant;
  const stdout: string[] = [];
  const stderr: string[] = [];
  let run: WorkloadRun | undefined;
  let leftInMap: number | undefined;
  const [result] = await runSession([variant], {
    root: process.cwd(),
    check: async () => undefined,
    slowdown: config.slowdown,
    onLine: (_v, stream, line) => (stream === 'stdout' ? stdout : stderr).push(line),
    workload: async () => {
      run = await runWorkload(undefined, config.cases);
      if (config.countMap) leftInMap = await countEntries(config.countMap);
      return run;
    },
  });
  if (!run) {
    const err = stderr.join('\n');
    const rejected = libbpfRejection(err);
    if (rejected) return { rejected };
    return { error: result!.reason ?? 'did not attach', detail: stderr.filter((l) => !l.startsWith('lab-phase')).slice(0, 3) };
  }
  const text = stdout.join('\n') + '\n';
  const views = Object.fromEntries(Object.entries(config.views).map(([id, view]) => [id, viewTally(run!, text, config, view)]));
  const trouble = result!.details.find((d) => d.kind === 'exit' || d.kind === 'stop')?.text;
  return { views, ...(leftInMap !== undefined ? { leftInMap } : {}), ...(trouble ? { trouble } : {}) };
}

// Run as the bundled entry: the config's path is the one argument.
if (process.argv[1] && /tracer-driver\.(mjs|ts)$/.test(process.argv[1])) {
  const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as TracerConfig;
  drive(config).then(
    (r) => {
      report(r);
      process.exit(0);
    },
    (err: Error) => {
      console.error(err.stack ?? String(err));
      process.exit(1);
    },
  );
}

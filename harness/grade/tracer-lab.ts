// The tracer labs (3–6), host side: what a check holds the student's tracer to, and the judge that turns
// the collector's evidence (tracer-collect.ts: the build's result, the workload's truth, what the tracer
// printed) into a report — the tracer's output read and graded with the examples' execsnoop reader and
// grader, once per check (each check is a view: the expectations it holds the output to, over the
// workload cases it names). The failures that cost every check: no compile, no attach.

import { cp } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../engine/paths.js';
import { gradeExecsnoop } from '../examples/execsnoop/grade.js';
import { parseExecsnoop } from '../examples/execsnoop/parse.js';
import type { ExecsnoopExpectations } from '../examples/execsnoop/variants.js';
import type { WorkloadRun } from '../examples/exec-workload.js';
import { fromTally, tally, type Tally } from './tally.js';
import { StudentFailure, type HiddenPart, type JudgeContext, type Lab, type Outcome } from './lab.js';
import { BUILD_DIR, EVENT_DUMP, TRACER_EVIDENCE, type TracerLabEvidence, type TracerSettings } from './tracer-collect.js';

const EVENT_DUMP_SOURCE = path.join(projectRoot, 'harness', 'grade', EVENT_DUMP);

export { BUILD_DIR, TRACER_EVIDENCE };

/** A tracer lab: what the collector runs (settings), and what the judge holds the output to. */
export interface TracerLabConfig extends TracerSettings {
  /** Check id → its view. */
  views: Record<string, TracerView>;
  /**
   * A C header of the submission's whose `#define MAX_ARGS` and `#define ARGSIZE` set the caps it is held
   * to (lab 5: the student picks them): maxArgs = MAX_ARGS, maxArgLen = ARGSIZE - 1. Read on the host.
   */
  capsFrom?: string;
  /**
   * Grade where a truth field (the parent pid) is, the kernel side apart from the user side: the collector
   * runs the grader's event dump beside the student's tracer (`eventDump`), and over these cases the judge
   * finds the field among each event's bytes and holds the tracer's column to it (eventFieldTallies).
   */
  eventField?: { field: 'ppid'; cases: string[] };
}

/** What the collector needs of a config: no expectation, no view (they stay on the host). */
export const tracerSettings = (c: TracerLabConfig): TracerSettings => ({
  ...(c.build ? { build: c.build } : {}),
  command: c.command,
  ready: c.ready,
  parser: c.parser,
  attachTimeoutMs: c.attachTimeoutMs,
  cases: c.cases,
  expect: c.expect,
  ...(c.countMap ? { countMap: c.countMap } : {}),
  ...(c.eventField ? { eventDump: true } : {}),
});

export const TRACER_COLLECTOR = path.join(projectRoot, 'harness', 'grade', 'tracer-collect.ts');

export interface TracerView {
  /** Overrides of the lab's expectations for this check (e.g. ppid: true only for the PPID check). */
  expect?: Partial<ExecsnoopExpectations>;
  /** The workload cases this check grades; all of the lab's when absent. */
  cases?: string[];
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
  /** eventField's two halves: the events carry the field (kernel side); the tracer prints it (user side). */
  field?: { kernel: Tally; user: Tally } | { failed: string };
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
export function viewTally(run: WorkloadRun, stdout: string, config: Pick<TracerLabConfig, 'parser' | 'cases' | 'expect'>, view: TracerView): Tally {
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

/** An event's bytes as 32-bit little-endian words, the way a C struct of __u32 fields lays them out. */
const words = (hex: string): number[] => {
  const b = Buffer.from(hex, 'hex');
  return Array.from({ length: b.length >> 2 }, (_, i) => b.readUInt32LE(i * 4));
};

/** The offset (a word's index) where most execs' events hold `want(exec)`; -1 when none does. */
function bestWord<T>(pairs: { exec: T; words: number[] }[], want: (exec: T, at: number, w: number[]) => boolean): number {
  let best = -1;
  let bestCount = 0;
  const size = Math.max(0, ...pairs.map((p) => p.words.length));
  for (let at = 0; at < size; at++) {
    const count = pairs.filter((p) => want(p.exec, at, p.words)).length;
    if (count > bestCount) [best, bestCount] = [at, count];
  }
  return best;
}

/**
 * The kernel side and the user side of one field, graded apart. Each exec of `cases` is found among the
 * grader's dumped events by its pid (a 32-bit field holds it) and marker (the argument bytes hold it), and
 * among the tracer's rows by its pid and marker. Kernel side: one 32-bit field of the event (wherever the student put it, whatever
 * they named it) holds the truth for every exec. User side: the tracer's column prints that field — or,
 * when no field holds the truth, whichever one field (not the pid's) the column agrees with: a user side
 * that prints what a broken kernel side sent is right.
 */
export function eventFieldTallies(run: WorkloadRun, stdout: string, dumped: string[], config: Pick<TracerLabConfig, 'parser'> & { eventField: NonNullable<TracerLabConfig['eventField']> }): { kernel: Tally; user: Tally } {
  const { field, cases } = config.eventField;
  const execs = run.execs.filter((t) => cases.includes(t.id));
  const events = dumped.map((hex) => ({ bytes: Buffer.from(hex, 'hex'), words: words(hex) }));
  const rows = parseExecsnoop(config.parser, stdout);
  // an exec without a marker (plain: argv is the program alone) is known by its pid alone
  const pairs = execs.map((exec) => ({
    exec,
    event: events.find((e) => e.words.includes(exec.pid) && (exec.marker === '' || e.bytes.includes(exec.marker))),
    row: rows.find((r) => r.pid === exec.pid && (exec.marker === '' || r.args.some((a) => a.includes(exec.marker)))),
  }));
  const found = pairs.flatMap((p) => (p.event ? [{ exec: p.exec, words: p.event.words, row: p.row }] : []));
  const kernelAt = bestWord(found, (exec, at, w) => w[at] === exec[field]);
  const kernel = tally(pairs.map(({ exec, event }) => {
    const value = event && kernelAt >= 0 ? event.words[kernelAt] : undefined;
    return {
      name: exec.id,
      ok: value === exec[field],
      detail: !event
        ? `no event of your kernel side carried this exec (the grader's dump got ${events.length} events)`
        : kernelAt < 0
          ? `no 32-bit field of the event holds the ${field} ${exec[field]}`
          : `the field at byte ${kernelAt * 4} holds ${value}, the ${field} is ${exec[field]}`,
    };
  }));
  const userAt = kernelAt >= 0 ? kernelAt : bestWord(found, (exec, at, w) => w[at] !== exec.pid && found.find((f) => f.exec === exec)?.row?.[field] === w[at]);
  const user = tally(pairs.map(({ exec, event, row }) => {
    const sent = event && userAt >= 0 ? event.words[userAt] : undefined;
    return {
      name: exec.id,
      ok: row?.[field] !== undefined && row[field] === sent,
      detail: !row
        ? 'no row of yours for this exec'
        : row[field] === undefined || Number.isNaN(row[field])
          ? `the ${field.toUpperCase()} column holds no number`
          : sent === undefined
            ? `${field.toUpperCase()} ${row[field]}, which is no field of your event`
            : `${field.toUpperCase()} ${row[field]}, but the event's field holds ${sent}`,
    };
  }));
  return { kernel, user };
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

/** The judge: the evidence → the report the checks read; what costs every check is a StudentFailure. */
export function judgeTracer(config: TracerLabConfig, e: Partial<TracerLabEvidence>, ctx: JudgeContext): TracerReport {
  if (config.capsFrom) {
    const caps = headerCaps(ctx.readFile(config.capsFrom) ?? '');
    if (caps.maxArgs === undefined || caps.argSize === undefined) {
      throw new StudentFailure(`${config.capsFrom}: no #define MAX_ARGS N and #define ARGSIZE N (plain numbers) found: the grader holds the output to them`);
    }
    config = { ...config, expect: { ...config.expect, maxArgs: caps.maxArgs, maxArgLen: caps.argSize - 1 } };
  }
  if (!e.build) throw new StudentFailure(ctx.cutShort ?? 'not built');
  if (!e.build.ok) {
    throw new StudentFailure(e.build.abnormal ? `${e.build.command}: ${e.build.abnormal}` : `does not compile (${e.build.command} exited with ${e.build.exit})`, e.build.output ?? []);
  }
  if (!e.tracer) {
    // the guest stopped after the workload, or before: what came is all there is
    if (!e.workload) throw new StudentFailure(ctx.cutShort ?? 'the tracer did not run');
    return { trouble: ctx.cutShort ?? 'the tracer never ended', views: {} };
  }
  if (!e.tracer.attached) {
    const rejected = libbpfRejection(e.tracer.stderr.join('\n'));
    if (rejected) return { rejected };
    throw new StudentFailure(e.tracer.reason ?? 'did not attach', e.tracer.stderr.slice(0, 3));
  }
  const foreign = (e.programs ?? []).filter((p) => p.foreign.length > 0);
  if (foreign.length) {
    throw new StudentFailure(`its BPF program ${foreign[0]!.name || '(unnamed)'} calls ${foreign[0]!.foreign.join(', ')}, which reaches outside the tracer and which no execsnoop needs: not graded`);
  }
  const text = e.tracer.stdout.join('\n') + '\n';
  const run = e.workload!;
  const views = Object.fromEntries(Object.entries(config.views).map(([id, view]) => [id, viewTally(run, text, config, view)]));
  const trouble = e.tracer.trouble ?? ctx.cutShort;
  const field = !config.eventField
    ? undefined
    : !e.dump
      ? { failed: ctx.cutShort ?? "the grader's event dump sent nothing" }
      : e.dump.failed
        ? { failed: [e.dump.failed, ...(e.dump.output ?? [])].join(': ') }
        : eventFieldTallies(run, text, e.dump.events, { parser: config.parser, eventField: config.eventField });
  return { views, ...(e.map && e.map.left !== undefined ? { leftInMap: e.map.left } : {}), ...(trouble ? { trouble } : {}), ...(field ? { field } : {}) };
}

/** The first check of a tracer lab: it built, the verifier took it, it attached. */
export function attaches(r: TracerReport, points: number): Outcome {
  if (r.rejected) {
    const where = [r.rejected.at && `at ${r.rejected.at}`, r.rejected.source && `(source: ${r.rejected.source})`].filter(Boolean).join(' ');
    return { score: 0, feedback: `the verifier rejected it: "${r.rejected.words}"${where ? ` ${where}` : ''}` };
  }
  return { score: points, feedback: r.trouble ? `attached; but ${r.trouble}` : 'built, loaded and attached' };
}

/** A check graded from one view: proportional to the cases right. */
export const fromView = (id: string, points: number, okText: string) => (r: TracerReport): Outcome =>
  r.rejected ? { score: 0, feedback: 'not run: the verifier rejected the program' } : r.views?.[id] === undefined && r.trouble ? { score: 0, feedback: `not run: ${r.trouble}` } : fromTally(r.views?.[id], points, okText);

/** A tracer lab's hidden part: its checks, and the workload cases and views they grade. */
export interface TracerHiddenPart extends HiddenPart<TracerReport> {
  cases?: string[];
  views?: Record<string, TracerView>;
}

/** A check graded from one half of the report's field (eventField): the kernel side or the user side. */
export const fromField = (half: 'kernel' | 'user', points: number, okText: string) => (r: TracerReport): Outcome => {
  if (r.rejected) return { score: 0, feedback: 'not run: the verifier rejected the program' };
  if (!r.field) return { score: 0, feedback: `not run: ${r.trouble ?? 'no field graded'}` };
  if ('failed' in r.field) return { score: 0, feedback: r.field.failed };
  return fromTally(r.field[half], points, okText);
};

/** A tracer lab from its config and checks, with its hidden part (labs/N/hidden.ts) when the grader has it. */
export function defineTracerLab(
  visible: TracerLabConfig,
  lab: Omit<Lab<TracerReport, TracerLabEvidence, TracerSettings>, 'collector' | 'evidence' | 'settings' | 'judge'>,
  hidden?: TracerHiddenPart,
): Lab<TracerReport, TracerLabEvidence, TracerSettings> {
  const config: TracerLabConfig = hidden
    ? { ...visible, cases: [...visible.cases, ...(hidden.cases ?? []).filter((c) => !visible.cases.includes(c))], views: { ...visible.views, ...hidden.views } }
    : visible;
  return {
    ...lab,
    checks: [...lab.checks, ...(hidden?.checks ?? [])],
    collector: TRACER_COLLECTOR,
    evidence: TRACER_EVIDENCE,
    settings: () => tracerSettings(config),
    judge: (e, ctx) => judgeTracer(config, e, ctx),
    // the grader's event dump goes into the kit: the collector builds it against the student's skeleton
    ...(config.eventField ? { prepare: (_submission: string, kit: string) => cp(EVENT_DUMP_SOURCE, path.join(kit, EVENT_DUMP)) } : {}),
  };
}

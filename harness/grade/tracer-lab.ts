// The tracer labs (3–6), host side: what a check holds the student's tracer to, and the judge that turns
// the collector's evidence (tracer-collect.ts: the build's result, the workload's truth, what the tracer
// printed) into a report — the tracer's output read and graded with the examples' execsnoop reader and
// grader, once per check (each check is a view: the expectations it holds the output to, over the
// workload cases it names). The failures that cost every check: no compile, no attach.

import path from 'node:path';
import { projectRoot } from '../paths.js';
import { gradeExecsnoop } from '../examples/execsnoop/grade.js';
import { parseExecsnoop } from '../examples/execsnoop/parse.js';
import type { ExecsnoopExpectations } from '../examples/execsnoop/variants.js';
import type { WorkloadRun } from '../types.js';
import { fromTally, tally, type Tally } from './tally.js';
import { StudentFailure, type HiddenPart, type JudgeContext, type Lab, type Outcome } from './lab.js';
import { BUILD_DIR, TRACER_EVIDENCE, type TracerLabEvidence, type TracerSettings } from './tracer-collect.js';

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
  return { views, ...(e.map && e.map.left !== undefined ? { leftInMap: e.map.left } : {}), ...(trouble ? { trouble } : {}) };
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

/** A tracer lab from its config: the shared collector and judge, the lab's own limits and checks. */
/** A tracer lab from its config and checks, with its hidden part (labs/N/hidden.ts) when the grader has it. */
export function defineTracerLab(
  visible: TracerLabConfig,
  lab: Omit<Lab<TracerReport, TracerLabEvidence, TracerSettings>, 'collector' | 'evidence' | 'settings' | 'judge'>,
  hidden?: HiddenPart<TracerReport>,
): Lab<TracerReport, TracerLabEvidence, TracerSettings> {
  const config: TracerLabConfig = hidden
    ? { ...visible, cases: [...visible.cases, ...(hidden.cases ?? []).filter((c) => !visible.cases.includes(c))], views: { ...visible.views, ...hidden.views } }
    : visible;
  return { ...lab, checks: [...lab.checks, ...(hidden?.checks ?? [])], collector: TRACER_COLLECTOR, evidence: TRACER_EVIDENCE, settings: () => tracerSettings(config), judge: (e, ctx) => judgeTracer(config, e, ctx) };
}

// The tracer labs' collector (labs 3–6: a student's execsnoop in bpftrace or libbpf C), run by the
// grading agent where the student's code runs. It builds the submission (jailed), starts the student's
// tracer (jailed, in a cgroup with the lab's limits) through the harness's own session (ready line,
// workload, drain, SIGINT), runs the workload itself — outside the jail, where the tracer cannot touch
// it — and sends what happened: the build's result, the workload's truth, the entries left in a map, and
// everything the tracer printed. It judges nothing: the host does (tracer-lab.ts).

import { execa } from 'execa';
import { cp, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { diesWithUs } from '../../lib/process.js';
import { buildDir } from '../engine/paths.js';
import type { ExecsnoopExpectations, ExecsnoopParserName } from '../examples/execsnoop/variants.js';
import { runSession } from '../engine/session.js';
import type { WorkloadRun } from '../examples/exec-workload.js';
import type { Variant } from '../engine/variant.js';
import { runWorkload } from '../examples/exec-workload.js';
import { exampleOf } from '../examples/index.js';
import type { CollectContext } from './lab.js';
import { abnormalEnd, openCgroup } from './sandbox.js';

/** What the collector is told (the lab's settings): how to build and run the tracer, which cases to run. */
export interface TracerSettings {
  /** Commands run first, in order, in the submission's folder. */
  build?: string[][];
  /** The student's tracer, relative to the submission's folder. */
  command: string[];
  /** The line that says it is attached (a RegExp's source). */
  ready: string;
  /** How the session reads its lines while it runs (to know when every event has arrived). */
  parser: ExecsnoopParserName;
  attachTimeoutMs: number;
  /** Workload cases (harness/examples/exec-workload.ts CASES and OPTIONAL_CASES). */
  cases: string[];
  /** A map of the student's whose entries are counted after the workload, while the tracer still runs. */
  countMap?: string;
  /**
   * What a correct submission prints, before any check's view: the session waits for the events it owes.
   * (The views, what each check holds the output to, stay on the host.)
   */
  expect: ExecsnoopExpectations;
  /**
   * Also load the student's kernel side with the grader's own user side (event-dump.c, which prints each
   * event's raw bytes), beside their tracer and against the same workload: the kernel side graded apart.
   */
  eventDump?: boolean;
}

/** In a build command, where the kit's build/bpf is (vmlinux.h): the host does not know where the guest has it. */
export const BUILD_DIR = '{build}';

/** The pieces of evidence, in the order they are sent. */
export const TRACER_EVIDENCE = ['build', 'workload', 'map', 'programs', 'tracer', 'dump'] as const;

/** The grader's user side (kit's event-dump.c), built in the student's folder against their skeleton. */
export const EVENT_DUMP = 'event-dump.c';

/**
 * Helpers no execsnoop needs that reach outside the tracer: writing another process's memory, signalling
 * it, changing what a kernel function returns. A program of the student's calling one is recorded.
 */
export const FOREIGN_HELPERS = ['bpf_probe_write_user', 'bpf_send_signal', 'bpf_send_signal_thread', 'bpf_override_return'];

export interface BuildEvidence {
  ok: boolean;
  /** The command that failed, its exit status and its output's first lines. */
  command?: string;
  exit?: string;
  output?: string[];
  /** It ran into a limit (flood, time, processes, memory): the sandbox's sentence. */
  abnormal?: string;
}

export interface TracerEvidence {
  attached: boolean;
  /** Why it did not attach (the session's words). */
  reason?: string;
  stdout: string[];
  stderr: string[];
  /** The session's remarks on how it ended (exit status, a stop that needed SIGKILL). */
  trouble?: string;
}

/** The BPF programs loaded while the tracer ran, listed from outside its jail, with the foreign helpers each calls. */
export type ProgramsEvidence = { name: string; type: string; foreign: string[] }[];

/** What the grader's event dump saw: each event's bytes in hex, or why it could not run. */
export interface DumpEvidence {
  /** Why there are no events: it did not build (the compiler's first errors) or did not attach. */
  failed?: string;
  output?: string[];
  events: string[];
}

export interface TracerLabEvidence {
  build: BuildEvidence;
  workload: WorkloadRun;
  map: { left: number };
  programs: ProgramsEvidence;
  tracer: TracerEvidence;
  dump: DumpEvidence;
}

/** Lines kept of a stream: the output a grade can quote, bounded. */
const KEEP_LINES = 20_000;
/** Events kept of the grader's dump, and bytes of each: a workload's worth, bounded whatever the kernel side sends. */
const DUMP_EVENTS = 2_000;
const MAX_EVENT_BYTES = 64 << 10;

const progIds = async (): Promise<{ id: number; name?: string; type: string }[]> => {
  const r = await execa('bpftool', ['-j', 'prog', 'show'], { reject: false });
  try {
    return JSON.parse(String(r.stdout)) as { id: number; name?: string; type: string }[];
  } catch {
    return [];
  }
};

/** Programs loaded since `after` (the highest id before the tracer started), each with the foreign helpers it calls. */
async function programsSince(after: number): Promise<ProgramsEvidence> {
  const out: ProgramsEvidence = [];
  for (const p of (await progIds()).filter((p) => p.id > after)) {
    const x = await execa('bpftool', ['prog', 'dump', 'xlated', 'id', String(p.id)], { reject: false });
    const foreign = FOREIGN_HELPERS.filter((h) => new RegExp(`call ${h}\\b`).test(String(x.stdout)));
    out.push({ name: p.name ?? '', type: p.type, foreign });
  }
  return out;
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

/** A failed build's first `n` lines that say error (or its first lines, when none does). */
function compilerErrors(r: { stdout: string; stderr: string }, n: number): string[] {
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').filter(Boolean);
  const errors = lines.filter((l) => /\berror\b/i.test(l));
  return (errors.length > 0 ? errors : lines).slice(0, n);
}

/**
 * The grader's event dump: built against the student's skeleton, started jailed (in `cgroup`) until it
 * says ready; `stop()` ends it with SIGINT and gives what it printed.
 */
async function startDump(ctx: CollectContext<TracerSettings>, wrap: (argv: string[]) => string[]): Promise<{ stop: () => Promise<DumpEvidence> }> {
  const none = (failed: string, output?: string[]) => ({ stop: async () => ({ failed, ...(output ? { output } : {}), events: [] }) });
  await cp(path.join(ctx.kit, EVENT_DUMP), path.join(ctx.dir, '.grade', EVENT_DUMP));
  const built = await ctx.run('cc', ['-g', '-O2', '-Wall', '-I.grade', '-I.', path.join('.grade', EVENT_DUMP), '-lbpf', '-o', '.grade/event-dump']);
  if (built.exitCode !== 0) {
    return none(`the grader's event dump (${EVENT_DUMP}) does not build against your skeleton: it needs the perf event array called events`, compilerErrors(built, 3));
  }
  const [file, ...args] = wrap(ctx.jailed(['.grade/event-dump']));
  const child = execa(...diesWithUs(file!, args), { cwd: ctx.dir, reject: false, stdin: 'ignore', buffer: false, cleanup: true });
  const events: string[] = [];
  const stderr: string[] = [];
  let onReady: (ok: boolean) => void = () => {};
  const ready = new Promise<boolean>((resolve) => (onReady = resolve));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') onReady(true);
    else if (line.startsWith('event ') && events.length < DUMP_EVENTS) events.push(line.slice(6, 6 + 2 * MAX_EVENT_BYTES));
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.length < 5 && stderr.push(line));
  const ended = child.then(() => onReady(false));
  const timer = setTimeout(() => onReady(false), ctx.settings.attachTimeoutMs * ctx.slowdown);
  const ok = await ready;
  clearTimeout(timer);
  if (!ok) {
    child.kill('SIGKILL');
    await ended;
    return none("the grader's event dump did not attach your kernel side", stderr);
  }
  return {
    stop: async () => {
      child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000 * ctx.slowdown);
      await ended;
      clearTimeout(killer);
      return { events };
    },
  };
}

export async function collect(ctx: CollectContext<TracerSettings>): Promise<void> {
  const s = ctx.settings;
  await mkdir(path.join(ctx.dir, '.grade'), { recursive: true }); // where a libbpf lab's build writes
  for (const cmd of (s.build ?? []).map((c) => c.map((a) => a.replaceAll(BUILD_DIR, buildDir)))) {
    const r = await ctx.run(cmd[0]!, cmd.slice(1));
    const abnormal = abnormalEnd(r, ctx.limits);
    if (r.exitCode !== 0 || abnormal) {
      ctx.emit('build', { ok: false, command: cmd[0], exit: String(r.exitCode ?? r.signal), output: compilerErrors(r, 5), ...(abnormal ? { abnormal } : {}) } satisfies BuildEvidence);
      return;
    }
  }
  ctx.emit('build', { ok: true } satisfies BuildEvidence);

  const cgroup = await openCgroup(ctx.limits);
  const variant = {
    example: 'execsnoop',
    tool: 'submission',
    description: 'the submission',
    sources: [],
    requires: [],
    command: cgroup.wrap(ctx.jailed(s.command)),
    ready: new RegExp(s.ready),
    attachTimeoutMs: s.attachTimeoutMs,
    parser: s.parser,
    expect: s.expect,
  } as unknown as Variant;
  const stdout: string[] = [];
  const stderr: string[] = [];
  let ran = false;
  const before = Math.max(0, ...(await progIds()).map((p) => p.id));
  try {
    // started first, so it is attached before the workload begins (the cgroup's close ends it on any error)
    const dump = s.eventDump ? await startDump(ctx, cgroup.wrap) : undefined;
    const [result] = await runSession([variant], {
      root: ctx.dir,
      exampleOf,
      check: async () => undefined,
      slowdown: ctx.slowdown,
      onLine: (_v, stream, line) => {
        const sink = stream === 'stdout' ? stdout : stderr;
        if (sink.length < KEEP_LINES) sink.push(line);
      },
      workload: async () => {
        const run = await runWorkload(undefined, s.cases);
        ran = true;
        ctx.emit('workload', run);
        ctx.emit('map', { left: s.countMap ? await countEntries(s.countMap) : -1 });
        ctx.emit('programs', await programsSince(before));
        return run;
      },
    });
    const trouble = result!.details.find((d) => d.kind === 'exit' || d.kind === 'stop')?.text;
    ctx.emit('tracer', { attached: ran, ...(ran ? {} : { reason: result!.reason ?? 'did not attach' }), stdout, stderr, ...(trouble ? { trouble } : {}) } satisfies TracerEvidence);
    if (dump) ctx.emit('dump', await dump.stop());
  } finally {
    await cgroup.close();
  }
}

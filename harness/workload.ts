// The workload: a fixed set of execs whose every detail is known, so each tracer can be graded against
// the truth instead of against another tracer. Each case exercises one thing tools get wrong.

import { copyFile, mkdtemp, rm, writeFile, chmod, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ARGSIZE, MAX_ARGS } from '../bpf/execsnoop/limits.js';
import { buildDir } from './paths.js';
import type { ExecTruth, WorkloadRun } from './types.js';

const TASK_COMM_LEN = 16; // include/linux/sched.h: comm holds 15 bytes and a NUL
const ENOENT = 2;
const TRUE = '/bin/true';
const SH = '/bin/sh';
/** Why a tracer of execve sees no execveat: every example that traces execve declares it. */
export const WHY_EXECVEAT = 'execveat is its own syscall with its own tracepoints: sys_enter_execve never fires for it';

/** harness/exec_helper.c, built by `make -C bpf`: the execs Node cannot do itself. */
export const HELPER = path.join(buildDir, 'exec_helper');

/** How many arguments the many-args case passes: more than any course variant keeps (20). */
export const MANY_ARGS = 40;
/** Length of the long argument: more than any tool's per-argument cap (128 bytes). */
export const LONG_ARG_LEN = 300;
/**
 * Execs from non-main threads in the storm: more than the 512 entries of the maps that hold execs in
 * flight (execsnoop's `execs` in libbpf, BCC and ts). A tool keying them by thread id leaks one entry per
 * such exec, so after this many it would see nothing more; the per-process counter maps (10240) hold them.
 */
export const STORM_EXECS = 600;

/** The comm the kernel gives a task after exec: the file's basename, cut to 15 bytes. */
export const commFor = (filename: string): string =>
  Buffer.from(path.basename(filename)).subarray(0, TASK_COMM_LEN - 1).toString();

export const newRunId = (): string => `lab${randomBytes(3).toString('hex')}`;

interface Context {
  runId: string;
  dir: string;
  /** comm of the workload's main thread: what a spawned child's comm is until it execs */
  ownComm: string;
}

type Case = (ctx: Context) => Promise<ExecTruth[]>;

const marker = (ctx: Context, id: string): string => `${ctx.runId}-${id}`;

/** The truth of an exec the workload started itself: a child of this process, exec'ing once, from its main thread. */
const childExec = (ctx: Context, f: Pick<ExecTruth, 'id' | 'marker' | 'pid' | 'filename' | 'argv'> & Partial<ExecTruth>): ExecTruth => ({
  syscall: 'execve',
  tid: f.pid,
  ppid: process.pid,
  ret: 0,
  commBefore: ctx.ownComm,
  commAfter: commFor(f.filename),
  ...f,
});

/** Spawn FILE with ARGV (argv[0] included) and wait; the child's only exec is the one under test. */
async function spawnExec(ctx: Context, id: string, filename: string, argv: string[], mark: string): Promise<ExecTruth> {
  const { execa } = await import('execa'); // imported when a workload runs, not by every module that names a case
  const child = execa(filename, argv.slice(1), {
    argv0: argv[0],
    reject: false,
    timeout: 20_000,
    stdio: 'ignore',
    env: {},
    extendEnv: false,
  });
  const pid = child.pid;
  const result = await child;
  if (pid === undefined || result.failed) {
    throw new Error(`workload ${id}: ${filename} did not run: ${result.shortMessage ?? 'no pid'}`);
  }
  return childExec(ctx, { id, marker: mark, pid, filename, argv });
}

const withArgs = (id: string, extra: (m: string) => string[], filename = TRUE): Case => async (ctx) => {
  const m = marker(ctx, id);
  return [await spawnExec(ctx, id, filename, [filename, m, ...extra(m)], m)];
};

/** A launcher exec: it only starts the process that will do the exec under test. */
const launcher = (ctx: Context, id: string, pid: number, filename: string, argv: string[], mark: string): ExecTruth =>
  childExec(ctx, { id: `${id}:launcher`, marker: mark, pid, filename, argv, launcher: true });

/** What exec_helper says before each exec: who is about to exec. */
interface HelperReport {
  pid: number;
  tid: number;
  ppid: number;
  comm: string;
  i?: number;
}

type HelperMode = 'thread' | 'execveat' | 'untouched' | 'storm';

/** Runs exec_helper MODE [N] FILE ARGV…: the launcher's truth, and one report per exec it did. */
async function runHelper(ctx: Context, id: string, mode: HelperMode, filename: string, argv: string[], expectExit = 0, count?: number) {
  const m = marker(ctx, id);
  const helperArgv = [HELPER, mode, ...(count === undefined ? [] : [String(count)]), filename, ...argv];
  const { execa } = await import('execa');
  const child = execa(HELPER, helperArgv.slice(1), { reject: false, timeout: 300_000, stdin: 'ignore', env: {}, extendEnv: false });
  const pid = child.pid;
  const result = await child;
  const reports = String(result.stdout ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as HelperReport);
  if (pid === undefined || result.exitCode !== expectExit || reports.length !== (count ?? 1)) {
    throw new Error(
      `workload ${id}: ${helperArgv.join(' ')} exited ${result.exitCode} (expected ${expectExit}) after ${reports.length} execs: ` +
        `${result.stderr || result.shortMessage}`,
    );
  }
  return { launcher: launcher(ctx, id, pid, HELPER, helperArgv, m), reports, marker: m };
}

/** One exec done by the helper itself, from a thread, with execveat, or with untouched argv. */
const viaHelper = (id: string, mode: Exclude<HelperMode, 'storm'>, filename = TRUE): Case => async (ctx) => {
  const m = marker(ctx, id);
  const argv = [filename, m, 'second'];
  const failed = filename !== TRUE;
  const { launcher: l, reports } = await runHelper(ctx, id, mode, filename, argv, failed ? 127 : 0);
  const r = reports[0];
  return [
    l,
    {
      id,
      marker: m,
      syscall: mode === 'execveat' ? 'execveat' : 'execve',
      pid: r.pid,
      tid: r.tid,
      ppid: r.ppid,
      filename,
      argv,
      ret: failed ? -ENOENT : 0,
      commBefore: r.comm,
      commAfter: failed ? r.comm : commFor(filename),
      unreadableAtEnter: mode === 'untouched' ? argv.map((_, i) => i) : undefined,
    },
  ];
};

/** STORM_EXECS children of one helper, each exec'ing from a non-main thread; argv ends with the child's index. */
const threadStorm: Case = async (ctx) => {
  const id = 'thread-storm';
  // the helper named "true" is true(1), static, and read from tmpfs: fast to exec even in a TCG guest
  const target = path.join(ctx.dir, 'true');
  await copyFile(HELPER, target);
  const argv = [target, marker(ctx, id)];
  const { launcher: l, reports, marker: m } = await runHelper(ctx, id, 'storm', target, argv, 0, STORM_EXECS);
  return [
    l,
    ...reports.map(
      (r): ExecTruth => ({
        id, marker: m, syscall: 'execve', pid: r.pid, tid: r.tid, ppid: r.ppid, filename: target,
        argv: [...argv, String(r.i)], ret: 0, commBefore: r.comm, commAfter: commFor(target), burst: true,
      }),
    ),
  ];
};

/** The cases, in the order they run. Names are what the report shows. */
export const CASES: Record<string, Case> = {
  // argv is just the program: nothing to carry a marker, so the pid alone identifies it
  plain: async (ctx) => [await spawnExec(ctx, 'plain', TRUE, [TRUE], '')],
  'three-args': withArgs('three-args', () => ['two', 'three']),
  'many-args': withArgs('many-args', () => Array.from({ length: MANY_ARGS - 2 }, (_, i) => `a${i + 2}`)),
  'long-arg': withArgs('long-arg', () => ['L'.repeat(LONG_ARG_LEN)]),
  'empty-arg': withArgs('empty-arg', () => ['', 'after-empty']),
  'arg-with-spaces': withArgs('arg-with-spaces', () => ['two words', ' padded ']),
  // a shell execs the missing file, so we know the pid that failed (Node reports no pid for a failed spawn)
  'failed-enoent': async (ctx) => {
    const id = 'failed-enoent';
    const m = marker(ctx, id);
    const missing = `/nonexistent/${m}`;
    const shArgv = [SH, '-c', 'exec "$0" "$@"', missing, m];
    const { execa } = await import('execa');
    const child = execa(SH, shArgv.slice(1), { reject: false, timeout: 20_000, stdin: 'ignore', env: {}, extendEnv: false });
    const pid = child.pid;
    const result = await child;
    // dash: "exec: … not found", exit 127 — proof that the exec failed with ENOENT
    if (pid === undefined || result.exitCode !== 127) {
      throw new Error(`workload ${id}: expected ${SH} to fail with 127, got ${result.exitCode}: ${result.stderr}`);
    }
    return [
      launcher(ctx, id, pid, SH, shArgv, m),
      {
        id, marker: m, syscall: 'execve', pid, tid: pid, ppid: process.pid,
        filename: missing, argv: [missing, m], ret: -ENOENT,
        commBefore: commFor(SH), commAfter: commFor(SH), // a failed exec leaves comm as it was
      },
    ];
  },
  shebang: async (ctx) => {
    const id = 'shebang';
    const m = marker(ctx, id);
    const script = path.join(ctx.dir, 'lab-script.sh');
    return [await spawnExec(ctx, id, script, [script, m], m)];
  },
  'from-thread': viaHelper('from-thread', 'thread'),
  execveat: viaHelper('execveat', 'execveat'),
  // the edges of the caps: exactly what fits, and one more
  [`arg-${ARGSIZE - 1}-bytes`]: withArgs(`arg-${ARGSIZE - 1}-bytes`, () => ['F'.repeat(ARGSIZE - 1)]),
  [`arg-${ARGSIZE}-bytes`]: withArgs(`arg-${ARGSIZE}-bytes`, () => ['C'.repeat(ARGSIZE)]),
  [`${MAX_ARGS}-args`]: withArgs(`${MAX_ARGS}-args`, () => Array.from({ length: MAX_ARGS - 2 }, (_, i) => `e${i + 2}`)),
  [`${MAX_ARGS + 1}-args`]: withArgs(`${MAX_ARGS + 1}-args`, () => Array.from({ length: MAX_ARGS - 1 }, (_, i) => `o${i + 2}`)),
  'arg-with-newline': withArgs('arg-with-newline', () => ['line one\nline two', 'after']),
  // argv's strings in pages the process never touched: unreadable at sys_enter_execve
  'untouched-argv': viaHelper('untouched-argv', 'untouched'),
  'untouched-argv-failed': async (ctx) => viaHelper('untouched-argv-failed', 'untouched', `/nonexistent/${marker(ctx, 'untouched-argv-failed')}`)(ctx),
  'thread-storm': threadStorm,
  // still seen after the storm: a tool whose map filled up would miss it
  'after-storm': withArgs('after-storm', () => ['still-seen']),
};

/**
 * Runs every case once (or only those named), in order, and returns the truth about each exec.
 * Call it only after the tracer under test says its probes are attached.
 */
export async function runWorkload(runId = newRunId(), only?: string[]): Promise<WorkloadRun> {
  const unknown = only?.filter((id) => !(id in CASES)) ?? [];
  if (unknown.length) throw new Error(`run workload: no case named ${unknown.join(', ')} (cases: ${Object.keys(CASES).join(', ')})`);
  const dir = await mkdtemp(path.join(tmpdir(), `ebpf-lab-${runId}-`));
  try {
    await writeFile(path.join(dir, 'lab-script.sh'), '#!/bin/sh\nexit 0\n');
    await chmod(path.join(dir, 'lab-script.sh'), 0o755);
    const ownComm = (await readFile(`/proc/self/task/${process.pid}/comm`, 'utf8')).trimEnd();
    const ctx: Context = { runId, dir, ownComm };
    const execs: ExecTruth[] = [];
    for (const [id, run] of Object.entries(CASES)) if (!only || only.includes(id)) execs.push(...(await run(ctx)));
    // A parser for output whose arguments can continue on the next line (an argument holding a newline)
    // knows an event is complete only when the next one starts. One last exec, left out of the truth
    // and so ignored by the grading, lets the final case's event out before the tracers are stopped.
    await spawnExec(ctx, 'closing', TRUE, [TRUE, marker(ctx, 'closing')], marker(ctx, 'closing'));
    return { runId, execs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

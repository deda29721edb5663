// The workload: a fixed set of execs whose every detail is known, so each tracer can be graded against
// the truth instead of against another tracer. Each case exercises one thing tools get wrong.

import { copyFile, mkdtemp, rm, writeFile, chmod, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ARGSIZE, MAX_ARGS } from '../../bpf/execsnoop/limits.js';
import { buildDir } from '../engine/paths.js';

/**
 * Which door a workload exec went through: execve tracepoints do not see execveat, and no syscall
 * tracepoint sees an exec through the 32-bit entry (int $0x80): 'execve-32'.
 */
export type ExecSyscall = 'execve' | 'execveat' | 'execve-32';


/** One exec the workload performed, and everything true about it. */
export interface ExecTruth {
  /** Case name, a short kebab-case sentence: "plain", "failed-enoent", "from-thread". */
  id: string;
  /** Unique string carried in argv (where the case allows), so noise can be told apart. */
  marker: string;
  syscall: ExecSyscall;
  /** tgid of the process that exec'd. */
  pid: number;
  /** Thread id that called exec (≠ pid for an exec from a non-main thread). */
  tid: number;
  ppid: number;
  /** The path passed to exec; for execveat(fd, "", …, AT_EMPTY_PATH) the name the kernel gives it, /dev/fd/N. */
  filename: string;
  /** execveat with AT_EMPTY_PATH: the fd it ran. */
  fd?: number;
  /**
   * argv exactly as passed, in the normalized events' form: when `escaped`, every argument is written with
   * each byte that is not UTF-8 as \xHH and each backslash as \\ (harness/examples/execsnoop/parse.ts).
   */
  argv: string[];
  /**
   * argv's strings are the caller's own arguments, at the very top of its stack (env exec'ing its argv[1]):
   * a tracer reading a fixed 128 bytes per string runs past the end of the stack mapping and faults.
   */
  argvAtStackTop?: boolean;
  /** An argument holds bytes that are not UTF-8: argv is written escaped. */
  escaped?: boolean;
  /** The argc the new program got, measured by the program itself (an argv of size 0 runs with one "" on 5.18+). */
  argcAfter?: number;
  /**
   * Indices of argv entries a tracer cannot read at sys_enter_execve: their strings sit in pages the
   * process has not touched, and a BPF program cannot take the page fault that would bring them in.
   */
  unreadableAtEnter?: number[];
  /** One of a burst of execs as fast as the machine goes (the thread storm): a tracer's buffers are tested too. */
  burst?: boolean;
  /** Return value as the tracepoint sees it: 0, or -errno (ENOENT → -2). */
  ret: number;
  /** comm of the calling thread before exec (what a tool reading comm at enter shows). */
  commBefore: string;
  /** comm after exec (basename of the file, cut to 15 bytes; unchanged when exec failed). */
  commAfter: string;
  /**
   * A launcher exec is not a test case: it only starts a helper process (for the thread and
   * execveat cases). Tools see it; the comparison accounts for it and does not grade it.
   */
  launcher?: boolean;
}

/** What the workload reports after running. */
export interface WorkloadRun {
  /** Unique per run; every marker starts with it. */
  runId: string;
  execs: ExecTruth[];
}

const TASK_COMM_LEN = 16; // include/linux/sched.h: comm holds 15 bytes and a NUL
const ENOENT = 2;
const TRUE = '/bin/true';
const SH = '/bin/sh';
const ENV = '/usr/bin/env';
/**
 * Why a tracer of execve sees no execveat: every example that traces execve declares it. The counter and hello
 * examples follow the course and trace sys_enter_execve alone (WHY_COURSE_DOORS); execsnoop/libbpf sees every door.
 */
export const WHY_EXECVEAT = 'execveat is its own syscall with its own tracepoints: sys_enter_execve never fires for it';
/**
 * Why no syscall tracepoint sees an exec through the 32-bit entry: on x86 the syscall tracepoints skip compat
 * syscalls (ARCH_TRACE_IGNORE_COMPAT_SYSCALLS, kernel/trace/trace_syscalls.c), and int $0x80 from a 64-bit
 * process is one. sched:sched_process_exec still fires when it succeeds.
 */
export const WHY_EXECVE_32 =
  'an exec through the 32-bit entry (int $0x80) fires no syscall tracepoint: x86 skips compat syscalls there ' +
  '(ARCH_TRACE_IGNORE_COMPAT_SYSCALLS)';
/** The counter's and hello's sentence: they follow the course, which traces execve alone. */
export const WHY_COURSE_DOORS =
  'the example follows the course and traces sys_enter_execve alone: execveat has tracepoints of its own, and an ' +
  'exec through the 32-bit entry (int $0x80) fires none (x86 skips compat syscalls there)';
/** Why even a tool on sched_process_exec misses a failed exec through the 32-bit entry. */
export const WHY_FAILED_32 =
  'a failed exec through the 32-bit entry fires no syscall tracepoint (x86 skips compat syscalls) and, having ' +
  'failed, no sched_process_exec: no tracepoint sees it at all';
const E2BIG = 7;
/** The argument of the E2BIG case: longer than MAX_ARG_STRLEN (32 pages, 131,072 bytes), so execve fails. */
export const E2BIG_ARG_LEN = 140_000;

/** harness/examples/exec_helper.c, built by `make -C bpf`: the execs Node cannot do itself. */
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
  /** fexecve, opath: the fd it ran */
  fd?: number;
}

type HelperMode = 'thread' | 'threadfork' | 'execveat' | 'untouched' | 'storm' | 'fexecve' | 'opath' | 'int80' | 'noargv' | 'big' | 'bytes' | 'pidns' | 'doors';

/** What a program started by the helper says it got, when the helper is that program (LAB_EXEC_REPORT=1). */
interface AfterReport {
  after: 1;
  pid: number;
  argc: number;
  comm: string;
}

/**
 * Runs exec_helper MODE [N] FILE ARGV…: the launcher's truth, one report per exec it did, and what each
 * program it started said it got. `size` is big's N (not a count of execs).
 */
async function runHelper(ctx: Context, id: string, mode: HelperMode, filename: string, argv: string[], expectExit = 0, count?: number, size?: number) {
  const m = marker(ctx, id);
  const n = count ?? size;
  const helperArgv = [HELPER, mode, ...(n === undefined ? [] : [String(n)]), filename, ...argv];
  const { execa } = await import('execa');
  const child = execa(HELPER, helperArgv.slice(1), { reject: false, timeout: 300_000, stdin: 'ignore', env: {}, extendEnv: false });
  const pid = child.pid;
  const result = await child;
  const lines = String(result.stdout ?? '')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as HelperReport | AfterReport);
  const reports = lines.filter((l): l is HelperReport => !('after' in l));
  const afters = lines.filter((l): l is AfterReport => 'after' in l);
  if (pid === undefined || result.exitCode !== expectExit || reports.length !== (count ?? 1)) {
    throw new Error(
      `workload ${id}: ${helperArgv.join(' ')} exited ${result.exitCode} (expected ${expectExit}) after ${reports.length} execs: ` +
        `${result.stderr || result.shortMessage}`,
    );
  }
  return { launcher: launcher(ctx, id, pid, HELPER, helperArgv, m), reports, afters, marker: m };
}

/**
 * One exec by the helper whose program is the helper itself, so that it says what it got: an exec by fd
 * (fexecve of a memfd, an O_PATH fd), through the 32-bit entry, with an argv of size 0, in a new pid namespace.
 */
const reportingExec = (id: string, mode: 'fexecve' | 'opath' | 'int80' | 'noargv' | 'pidns', syscall: ExecTruth['syscall']): Case => async (ctx) => {
  // argc 0 has nowhere to carry a marker: the pid alone identifies it, as for plain
  const m = mode === 'noargv' ? '' : marker(ctx, id);
  const argv = mode === 'noargv' ? [] : [HELPER, m, 'second'];
  const { launcher: l, reports, afters } = await runHelper(ctx, id, mode, HELPER, argv);
  const r = reports[0];
  const after = afters[0];
  if (!after || (mode === 'pidns' ? after.pid !== 1 : after.pid !== r.pid)) {
    throw new Error(`workload ${id}: the exec'd helper reported ${JSON.stringify(after)} (expected pid ${mode === 'pidns' ? 1 : r.pid})`);
  }
  return [
    l,
    {
      id, marker: m, syscall, pid: r.pid, tid: r.tid, ppid: r.ppid,
      // AT_EMPTY_PATH: the kernel names the program /dev/fd/N (bprm->filename), which sched_process_exec shows
      filename: r.fd === undefined ? HELPER : `/dev/fd/${r.fd}`,
      ...(r.fd === undefined ? {} : { fd: r.fd }),
      argv, ret: 0, commBefore: r.comm,
      // measured: on 6.18 an exec by fd takes the comm from the file's name (a memfd's is "memfd:NAME"),
      // older kernels from /dev/fd/N ("3")
      commAfter: after.comm,
      argcAfter: after.argc,
    },
  ];
};

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

/** Execs in the doors storm (test/harness/doors.kernel.test.ts), from DOORS_PROCS processes at once. */
export const DOORS_EXECS = 2000;
export const DOORS_PROCS = 40; // as exec_helper.c's

/**
 * DOORS_EXECS execs from DOORS_PROCS processes at once, exec I through door I % 3: execve, execveat of a memfd
 * (AT_EMPTY_PATH), int $0x80. Every program started says its pid and comm, so each truth is measured.
 */
const doorsStorm: Case = async (ctx) => {
  const id = 'doors-storm';
  const target = path.join(ctx.dir, 'true'); // the helper, reporting (LAB_EXEC_REPORT) under the name true
  await copyFile(HELPER, target);
  const argv = [target, marker(ctx, id)];
  const { launcher: l, reports, afters, marker: m } = await runHelper(ctx, id, 'doors', target, argv, 0, DOORS_EXECS);
  const after = new Map(afters.map((a) => [a.pid, a]));
  const doors: ExecTruth['syscall'][] = ['execve', 'execveat', 'execve-32'];
  return [
    l,
    ...reports.map((r): ExecTruth => {
      const a = after.get(r.pid);
      if (!a) throw new Error(`workload ${id}: exec ${r.i} (pid ${r.pid}) did not report what it got`);
      return {
        id, marker: m, syscall: doors[r.i! % 3]!, pid: r.pid, tid: r.tid, ppid: r.ppid,
        filename: r.fd === undefined ? target : `/dev/fd/${r.fd}`, ...(r.fd === undefined ? {} : { fd: r.fd }),
        argv: [...argv, String(r.i)], ret: 0, commBefore: r.comm, commAfter: a.comm, burst: true,
      };
    }),
  ];
};

/** Cases a test asks for by name; a plain run (./lab compare) leaves them out. */
export const OPTIONAL_CASES: Record<string, Case> = {
  'doors-storm': doorsStorm,
  // the parent is a non-main thread: its pid is a thread id, the parent pid is its tgid (lab 4's hidden case)
  'fork-from-thread': (ctx) => viaHelper('fork-from-thread', 'threadfork')(ctx),
  // MANY_ARGS arguments of LONG_ARG_LEN bytes each, all different: both caps at once (lab 5's hidden case)
  'many-long-args': withArgs('many-long-args', () => Array.from({ length: MANY_ARGS - 2 }, (_, i) => `${i + 2}:`.padEnd(LONG_ARG_LEN, String.fromCharCode(97 + (i % 26))))),
  // a failed exec from a non-main thread: what it left in a map must go too (lab 6's hidden case)
  'from-thread-failed': (ctx) => viaHelper('from-thread-failed', 'thread', `/nonexistent/${marker(ctx, 'from-thread-failed')}`)(ctx),
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
  // ---- the other doors: execveat by fd, the 32-bit entry (issue 19) ----
  'fexecve-memfd': reportingExec('fexecve-memfd', 'fexecve', 'execveat'),
  'execveat-opath': reportingExec('execveat-opath', 'opath', 'execveat'),
  'int80': reportingExec('int80', 'int80', 'execve-32'),
  'int80-failed': async (ctx) => {
    const id = 'int80-failed';
    const m = marker(ctx, id);
    const missing = `/nonexistent/${m}`;
    const argv = [missing, m, 'second'];
    const { launcher: l, reports } = await runHelper(ctx, id, 'int80', missing, argv, 127);
    const r = reports[0];
    return [l, { id, marker: m, syscall: 'execve-32', pid: r.pid, tid: r.tid, ppid: r.ppid, filename: missing, argv, ret: -ENOENT, commBefore: r.comm, commAfter: r.comm }];
  },
  // bytes that are not UTF-8 (0xff 0xfe 0x80), a real backslash and a real é: the helper makes \xHH bytes
  'non-utf8-arg': async (ctx) => {
    const id = 'non-utf8-arg';
    const m = marker(ctx, id);
    const { launcher: l, reports } = await runHelper(ctx, id, 'bytes', TRUE, [TRUE, m, 'ok\\xff\\xfe\\é\\x80']);
    const r = reports[0];
    return [
      l,
      {
        id, marker: m, syscall: 'execve', pid: r.pid, tid: r.tid, ppid: r.ppid, filename: TRUE,
        // written out, not computed: ok 0xff 0xfe \ é 0x80, escaped as the normalized events write it
        argv: [TRUE, m, 'ok\\xff\\xfe\\\\é\\x80'], escaped: true,
        ret: 0, commBefore: r.comm, commAfter: commFor(TRUE),
      },
    ];
  },
  // argc 0: on 5.18+ the kernel runs the program with one empty argument; the program says what it got
  'argv-empty': reportingExec('argv-empty', 'noargv', 'execve'),
  'e2big': async (ctx) => {
    const id = 'e2big';
    const m = marker(ctx, id);
    const argv = [TRUE, m];
    const { launcher: l, reports } = await runHelper(ctx, id, 'big', TRUE, argv, 126, undefined, E2BIG_ARG_LEN);
    const r = reports[0];
    return [
      l,
      { id, marker: m, syscall: 'execve', pid: r.pid, tid: r.tid, ppid: r.ppid, filename: TRUE, argv: [...argv, 'B'.repeat(E2BIG_ARG_LEN)], ret: -E2BIG, commBefore: r.comm, commAfter: r.comm },
    ];
  },
  // two execs in one pid: env execs true in the process Node started
  'exec-chain': async (ctx) => {
    const id = 'exec-chain';
    const m = marker(ctx, id);
    const first = await spawnExec(ctx, id, ENV, ['env', TRUE, m], m);
    return [first, { ...first, filename: TRUE, argv: [TRUE, m], commBefore: commFor(ENV), commAfter: commFor(TRUE), argvAtStackTop: true }];
  },
  // the pid a tracer shows is this machine's, not the 1 the program sees in its namespace
  'pid-namespace': reportingExec('pid-namespace', 'pidns', 'execve'),
  'thread-storm': threadStorm,
  // still seen after the storm: a tool whose map filled up would miss it
  'after-storm': withArgs('after-storm', () => ['still-seen']),
};

/** What the exec workload gives the examples graded against it: their kind of truth, and a run summed up. */
export const EXEC_TRUTH = { truth: 'exec', summary: (run: WorkloadRun): string => `${run.execs.length} execs` } as const;

/**
 * Runs every case once (or only those named), in order, and returns the truth about each exec.
 * Call it only after the tracer under test says its probes are attached.
 */
export async function runWorkload(runId = newRunId(), only?: string[]): Promise<WorkloadRun> {
  const all = { ...CASES, ...OPTIONAL_CASES };
  const unknown = only?.filter((id) => !(id in all)) ?? [];
  if (unknown.length) throw new Error(`run workload: no case named ${unknown.join(', ')} (cases: ${Object.keys(all).join(', ')})`);
  const dir = await mkdtemp(path.join(tmpdir(), `ebpf-lab-${runId}-`));
  try {
    await writeFile(path.join(dir, 'lab-script.sh'), '#!/bin/sh\nexit 0\n');
    await chmod(path.join(dir, 'lab-script.sh'), 0o755);
    const ownComm = (await readFile(`/proc/self/task/${process.pid}/comm`, 'utf8')).trimEnd();
    const ctx: Context = { runId, dir, ownComm };
    const execs: ExecTruth[] = [];
    for (const [id, run] of Object.entries(all)) if (only ? only.includes(id) : id in CASES) execs.push(...(await run(ctx)));
    // A parser for output whose arguments can continue on the next line (an argument holding a newline)
    // knows an event is complete only when the next one starts. One last exec, left out of the truth
    // and so ignored by the grading, lets the final case's event out before the tracers are stopped.
    await spawnExec(ctx, 'closing', TRUE, [TRUE, marker(ctx, 'closing')], marker(ctx, 'closing'));
    return { runId, execs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

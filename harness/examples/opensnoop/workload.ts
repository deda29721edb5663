// opensnoop's workload and its truth: opens that succeed and fail (ENOENT, EACCES, ENOTDIR, ELOOP, EEXIST,
// EXDEV), O_CREAT and O_TMPFILE with modes, a relative path under a dirfd, paths of exactly the cap and one
// byte over, paths with a newline, a backslash and bytes that are not UTF-8, opens from threads and as
// another user, openat2 with RESOLVE flags, the legacy open(2), and a storm larger than any tool's map.
//
// Every open is made by bpf/opensnoop/open_helper.c (built by `make -C bpf`), which makes the system call
// asked for, raw, and reports what it returned and which process and thread made it: the truth is measured,
// not assumed. Node's own opens (it opens files all the time) are not in the truth: the grader looks only at
// the helper's processes.

import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { escapePath, type OpenSyscall } from '../../../bpf/opensnoop/format.js';
import { MAX_OPENS_IN_FLIGHT, PATH_CAP } from '../../../bpf/opensnoop/limits.js';
import { buildDir } from '../../engine/paths.js';
import { newRunId } from '../exec-workload.js';

/** bpf/opensnoop/open_helper.c, built by `make -C bpf`. */
export const OPEN_HELPER = path.join(buildDir, 'open_helper');

/** Opens in the storm: more than any opensnoop's map of opens in flight holds (ours and upstream's: 10,240). */
export const OPEN_STORM = MAX_OPENS_IN_FLIGHT + 1760;
/**
 * The storm in a guest under TCG (LAB_ACCEL=tcg, set by the host that booted it): there the tools print 12,000
 * rows each for over a minute (72 s on 5.10, measured), once per kernel of the matrix. What only the full storm
 * tests — no entry left in a map it would fill — is the kernel test's, on the host.
 */
export const OPEN_STORM_TCG = 2000;
const stormSize = () => (process.env.LAB_ACCEL === 'tcg' ? OPEN_STORM_TCG : OPEN_STORM);
/** Threads the storm's opens are spread over, all opening at once. */
export const STORM_THREADS = 8;
/** The pause before after-storm: a full perf buffer of 64 pages per CPU is printed in well under this, even under TCG. */
const AFTER_STORM_PAUSE_MS = 1000;

// include/uapi/asm-generic/fcntl.h (x86_64) and include/uapi/linux/openat2.h
export const O = {
  RDONLY: 0, WRONLY: 0o1, RDWR: 0o2, CREAT: 0o100, EXCL: 0o200, TRUNC: 0o1000, DIRECTORY: 0o200000,
  NOFOLLOW: 0o400000, CLOEXEC: 0o2000000, TMPFILE: 0o20200000,
} as const;
export const RESOLVE = { NO_SYMLINKS: 0x04, BENEATH: 0x08 } as const;

/** One open the workload made (or, for a storm, `count` alike from one thread), and what it returned. */
export interface OpenTruth {
  /** The case, a short kebab-case name: "failed-enoent", "openat2-beneath". */
  id: string;
  syscall: OpenSyscall;
  pid: number;
  tid: number;
  comm: string;
  /** The directory a relative path was resolved under (openat's dirfd), when not the current one. */
  dir?: string;
  /** The path's bytes, escaped as our tools print it (bpf/opensnoop/format.ts). */
  path: string;
  flags: number;
  mode: number;
  /** openat2's how.resolve. */
  resolve?: number;
  /** The fd (closed at once), or -errno. */
  ret: number;
  /** How many opens this is: the storm's threads each made many alike; 1 otherwise. */
  count: number;
  /** Part of the storm: a tool's buffers are tested too. */
  burst?: boolean;
  /** The first open after the storm: a tool that lost part of it may still have a full buffer. */
  afterBurst?: boolean;
}

export interface OpenRun {
  runId: string;
  opens: OpenTruth[];
}

interface Op {
  id: string;
  /** Milliseconds the helper sleeps before this open. */
  pauseMs?: number;
  who: 'main' | 'thread' | 'nobody' | 'storm';
  door: OpenSyscall;
  path: Buffer;
  dir?: string;
  flags?: number;
  mode?: number;
  resolve?: number;
  count?: number;
}

const hex = (b: Buffer | string) => Buffer.from(b).toString('hex');

/** A path of exactly `bytes` bytes under `dir` that does not exist, in components short enough for the kernel to look up. */
function pathOfLength(dir: string, name: string, bytes: number): Buffer {
  let p = path.join(dir, name);
  while (p.length < bytes) p += '/' + 'p'.repeat(Math.min(100, bytes - p.length - 1));
  if (p.length !== bytes) throw new Error(`workload: cannot make a ${bytes}-byte path under ${dir}`);
  return Buffer.from(p);
}

/**
 * The cases, in the order they run, and the files and folders they need made first. Each case opens a path of
 * its own, so that an event is told apart by its path even by a tool that shows neither the thread nor the door.
 */
function cases(dir: string, m: string): { ops: Op[]; files: string[]; dirs: string[] } {
  const f = (name: string) => Buffer.from(path.join(dir, `${m}-${name}`));
  const files: string[] = [];
  const dirs: string[] = [];
  // a file of the case's own that exists before it runs
  const existing = (id: string) => {
    files.push(path.join(dir, `${m}-${id}`));
    return f(id);
  };
  const folder = (id: string) => {
    dirs.push(path.join(dir, `${m}-${id}`));
    return f(id);
  };
  const ops: Op[] = [
    { id: 'existing', who: 'main', door: 'openat', path: existing('existing') },
    { id: 'failed-enoent', who: 'main', door: 'openat', path: f('missing') },
    // root reads anything: the open is made by a child that gave up root for nobody (uid 65534)
    { id: 'failed-eacces', who: 'nobody', door: 'openat', path: f('secret') },
    { id: 'failed-enotdir', who: 'main', door: 'openat', path: Buffer.concat([existing('failed-enotdir'), Buffer.from('/under-a-file')]) },
    { id: 'failed-eloop', who: 'main', door: 'openat', path: f('link-eloop'), flags: O.RDONLY | O.NOFOLLOW },
    { id: 'creat-0640', who: 'main', door: 'openat', path: f('created'), flags: O.WRONLY | O.CREAT | O.TRUNC, mode: 0o640 },
    { id: 'creat-excl-eexist', who: 'main', door: 'openat', path: existing('creat-excl-eexist'), flags: O.WRONLY | O.CREAT | O.EXCL, mode: 0o600 },
    { id: 'tmpfile-0600', who: 'main', door: 'openat', path: folder('tmpfile-dir'), flags: O.RDWR | O.TMPFILE, mode: 0o600 },
    { id: 'cloexec-directory', who: 'main', door: 'openat', path: folder('directory'), flags: O.RDONLY | O.DIRECTORY | O.CLOEXEC },
    { id: 'legacy-open', who: 'main', door: 'open', path: existing('legacy-open') },
    { id: 'legacy-open-creat', who: 'main', door: 'open', path: f('created-by-open'), flags: O.WRONLY | O.CREAT, mode: 0o604 },
    // relative to a dirfd: the tool shows the path as passed, not where it led
    { id: 'relative-dirfd', who: 'main', door: 'openat', dir, path: (existing('relative-dirfd'), Buffer.from(`${m}-relative-dirfd`)) },
    { id: 'openat2', who: 'main', door: 'openat2', path: existing('openat2') },
    { id: 'openat2-creat', who: 'main', door: 'openat2', path: f('created-by-openat2'), flags: O.RDWR | O.CREAT, mode: 0o660 },
    { id: 'openat2-no-symlinks', who: 'main', door: 'openat2', path: f('link-resolve'), resolve: RESOLVE.NO_SYMLINKS },
    { id: 'openat2-beneath', who: 'main', door: 'openat2', dir, path: Buffer.from(`../${m}-escape`), resolve: RESOLVE.BENEATH },
    // the edges of the cap: exactly what is shown whole, and one byte more
    { id: `path-${PATH_CAP}-bytes`, who: 'main', door: 'openat', path: pathOfLength(dir, `${m}-at-cap`, PATH_CAP) },
    { id: `path-${PATH_CAP + 1}-bytes`, who: 'main', door: 'openat', path: pathOfLength(dir, `${m}-over-cap`, PATH_CAP + 1) },
    { id: 'path-with-newline', who: 'main', door: 'openat', path: f('line one\nline two') },
    { id: 'path-with-backslash', who: 'main', door: 'openat', path: f('back\\slash') },
    // ff fe: not UTF-8 at all; c3 a9: é, UTF-8
    { id: 'path-non-utf8', who: 'main', door: 'openat', path: Buffer.concat([f('bytes-'), Buffer.from([0xff, 0xfe, 0x2d, 0xc3, 0xa9])]) },
    { id: 'from-thread', who: 'thread', door: 'openat', path: existing('from-thread') },
    { id: 'open-storm', who: 'storm', door: 'openat', path: f('storm'), count: stormSize() },
    // still seen after the storm: a tool whose map filled up would miss it. The pause first lets a tool whose
    // buffer overflowed in the storm empty it: what this case tests is the map, not the buffer
    { id: 'after-storm', who: 'main', door: 'openat', path: existing('after-storm'), pauseMs: AFTER_STORM_PAUSE_MS },
  ];
  return { ops, files, dirs };
}

/** Cases a test asks for by name; every case runs when none is named. */
export const CASE_IDS = cases('/d', 'm').ops.map((c) => c.id);

/**
 * Runs every case once (or only those named), in order, and returns the truth about each open. Call it
 * only once the tracers under test say they are attached.
 */
export async function runOpenWorkload(runId = newRunId(), only?: string[]): Promise<OpenRun> {
  const unknown = only?.filter((id) => !CASE_IDS.includes(id)) ?? [];
  if (unknown.length) throw new Error(`run open workload: no case named ${unknown.join(', ')} (cases: ${CASE_IDS.join(', ')})`);
  const dir = await mkdtemp(path.join(tmpdir(), `ebpf-lab-open-${runId}-`));
  try {
    await chmod(dir, 0o755); // nobody must reach the secret to be refused it
    const m = runId;
    const all = cases(dir, m);
    for (const file of all.files) await writeFile(file, 'x');
    for (const folder of all.dirs) await mkdir(folder);
    await writeFile(path.join(dir, `${m}-secret`), 'x', { mode: 0o600 });
    for (const link of ['link-eloop', 'link-resolve']) await symlink(all.files[0]!, path.join(dir, `${m}-${link}`));
    const ops = all.ops.filter((c) => !only || only.includes(c.id));
    // One last open, left out of the truth: a reader that holds an event until the next line begins (a path
    // may go on over a newline) lets the final case's event out before the tracers are stopped.
    const closing: Op = { id: 'closing', who: 'main', door: 'openat', path: Buffer.from(path.join(dir, `${m}-closing`)) };
    // one line per open (its index is the line's number in the helper's report), a pause line before it if it has one
    const lines: string[] = [];
    const opAt: (Op | undefined)[] = [];
    for (const o of [...ops, closing]) {
      if (o.pauseMs) {
        lines.push(`pause ${o.pauseMs}`);
        opAt.push(undefined);
      }
      lines.push([o.who, o.door, o.dir ? hex(o.dir) : '-', o.flags ?? 0, o.mode ?? 0, o.resolve ?? 0, hex(o.path), ...(o.who === 'storm' ? [o.count, STORM_THREADS] : [])].join(' '));
      opAt.push(o === closing ? undefined : o);
    }
    const input = lines.join('\n');
    const r = await execa(OPEN_HELPER, [], { input: input + '\n', reject: false, timeout: 300_000, env: {}, extendEnv: false });
    if (r.exitCode !== 0) throw new Error(`open workload: ${OPEN_HELPER} exited ${r.exitCode}: ${String(r.stderr).trim() || r.shortMessage}`);
    const opens: OpenTruth[] = [];
    for (const line of String(r.stdout).split('\n').filter(Boolean)) {
      const [at, pid, tid, ret, comm, count] = line.split(' ');
      const op = opAt[Number(at)];
      if (!op) continue; // the closing open
      if (ret === 'mixed') throw new Error(`open workload: ${op.id}: the storm's opens did not all return the same: ${line}`);
      opens.push({
        id: op.id, syscall: op.door, pid: Number(pid), tid: Number(tid), comm: comm!,
        ...(op.dir ? { dir: op.dir } : {}),
        path: escapePath(op.path), flags: op.flags ?? 0, mode: op.mode ?? 0,
        ...(op.door === 'openat2' ? { resolve: op.resolve ?? 0 } : {}),
        ret: Number(ret), count: count === undefined ? 1 : Number(count),
        ...(op.who === 'storm' ? { burst: true } : {}),
        ...(op.id === 'after-storm' ? { afterBurst: true } : {}),
      });
    }
    const missing = ops.filter((o) => !opens.some((t) => t.id === o.id));
    if (missing.length) throw new Error(`open workload: ${OPEN_HELPER} reported nothing for ${missing.map((o) => o.id).join(', ')}`);
    return { runId, opens };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// The notebooks' exercises: each check runs the student's answer against the running kernel and says what
// is wrong, in a sentence that points where to look, never at the answer. A check prints one line that
// starts `check N.M: PASS` or `check N.M: not yet — …` and never throws, so a notebook with the starters
// still runs top to bottom. The instructor's answers are not here: test/fixtures/notebooks/answers/.

import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { assemble, type ProgramSource } from '../../bpf/ts/insn.js';
import { loadProgram } from '../../bpf/ts/prog.js';
import { createMap, type BpfMap } from '../../bpf/ts/map.js';
import { u32, u64 } from '../../bpf/ts/codec.js';
import { VerifierError } from '../../bpf/ts/errors.js';
import { compileC, tryCompile } from './course.js';
import { runTool } from './execs.js';

function report(id: string, why: string | undefined): void {
  console.log(why ? `check ${id}: not yet — ${why}` : `check ${id}: PASS`);
}

/**
 * Runs a check body; an exception in the student's code is a "not yet" with its message, not a failed cell.
 * Resolves to nothing, so that a cell ending in `await checkNM(…)` prints only the check's line.
 */
async function check(id: string, body: () => string | undefined | Promise<string | undefined>): Promise<void> {
  try {
    report(id, await body());
  } catch (err) {
    report(id, `your code threw: ${(err as Error).message.split('\n')[0]}`);
  }
}

const toBytes = (p: Buffer | readonly Buffer[] | ProgramSource): Buffer => {
  if (Buffer.isBuffer(p)) return p;
  const items = p as readonly unknown[];
  if (items.length > 0 && items.every((x) => Buffer.isBuffer(x))) return Buffer.concat(items as Buffer[]);
  return assemble(p as ProgramSource).encode();
};

/** Loads a socket filter and runs it on packets of the given lengths: the return values, or why it did not load. */
function runFilter(insns: Buffer, lengths: number[]): number[] | string {
  let prog: ReturnType<typeof loadProgram>;
  try {
    prog = loadProgram({ name: 'exercise', type: 'socket_filter', insns, logLevel: 1 });
  } catch (err) {
    if (err instanceof VerifierError) return `the verifier rejects it: "${err.reason ?? 'see its log'}"`;
    throw err;
  }
  try {
    return lengths.map((n) => prog.testRun({ data: Buffer.alloc(n, 0xab) }).retval);
  } finally {
    prog.close();
  }
}

const ETH_HLEN = 14;

/** 1.1: a program the verifier accepts that returns 7. */
export const check11 = (program: Buffer | readonly Buffer[] | ProgramSource) =>
  check('1.1', () => {
    const r = runFilter(toBytes(program), [64]);
    if (typeof r === 'string') return `${r} — which register does the message name, and what did the program write before reading it?`;
    return r[0] === 7 ? undefined : `it loads, but returns ${r[0]}, not 7 (the return value is the register exit hands back)`;
  });

/** 1.2: a socket filter, written with the course's macros, that returns the packet's length. */
export const check12 = (program: readonly Buffer[]) =>
  check('1.2', () => {
    if (!Array.isArray(program) || !program.every((x) => Buffer.isBuffer(x))) return 'build it from the course macros (each returns a Buffer of 8 or 16 bytes), not with asm.*';
    const lengths = [64, 100, 1500];
    const r = runFilter(Buffer.concat(program), lengths);
    if (typeof r === 'string') return r;
    // BPF_PROG_TEST_RUN hands a socket filter the packet as a socket would see it: from the network header on,
    // the 14 bytes of the Ethernet header taken off (eth_type_trans); skb->len counts what is left
    const wrong = lengths.map((n, i) => [n, r[i]!] as const).filter(([n, got]) => n - ETH_HLEN !== got);
    return wrong.length === 0
      ? undefined
      : `for packets of ${wrong.map(([n, got]) => `${n} bytes (${n - ETH_HLEN} after the Ethernet header) it returned ${got}`).join(', ')} — what does r1 point at when a socket filter starts?`;
  });

const WORDS = ['This', 'is', 'eBPF', 'hash', 'map', 'test'];

/** 2.1: the course's "hash" program, fixed: the six words themselves, under keys 0–5, and no other key. */
export const check21 = (make: () => BpfMap<number, any>) =>
  check('2.1', () => {
    const map = make();
    try {
      const info = map.info();
      for (const [i, word] of WORDS.entries()) {
        const raw = map.get(Buffer.from(Uint32Array.of(i).buffer));
        if (raw === undefined) return `key ${i} is not in the map`;
        const value = Buffer.isBuffer(raw) ? raw : map.value.encode(raw);
        const text = value.subarray(0, value.indexOf(0) < 0 ? value.length : value.indexOf(0)).toString('latin1');
        if (text !== word) {
          return `key ${i} holds ${JSON.stringify(text)} (bytes ${value.toString('hex')}), not "${word}" — does the value hold the word, or where the word is in this process?`;
        }
      }
      const extra = map.get(Buffer.from(Uint32Array.of(WORDS.length).buffer));
      if (extra !== undefined) return `key ${WORDS.length} was never written, yet a lookup finds it (map type ${info.type}) — which map type has only the keys written into it?`;
      return undefined;
    } finally {
      map.close();
    }
  });

/** 2.2: the sum of one key's values over every CPU of a per-CPU array. */
export const check22 = (sum: (map: BpfMap<number, bigint[]>, key: number) => bigint) =>
  check('2.2', () => {
    const map = createMap({ name: 'exercise_pc', type: 'percpu_array', key: u32, value: u64, maxEntries: 2 });
    try {
      const n = map.lookup(0).length;
      const values = Array.from({ length: n }, (_, cpu) => BigInt(cpu + 1) * 100n);
      map.update(1, values);
      const want = values.reduce((a, b) => a + b, 0n);
      const got = sum(map, 1);
      return got === want ? undefined : `it returned ${got}; the values of key 1 on the ${n} CPUs add up to ${want} (what does one lookup in a per-CPU map return?)`;
    } finally {
      map.close();
    }
  });

/**
 * 3.1 and 3.2: a bpftrace program that counts execs in a map keyed by a process name. The workload: a copy
 * of dash named `nb3sh-<pid>` that runs /bin/true three times, then a copy of /bin/true named `nb3new-<pid>`
 * run four times. 3.1 wants the name of the process that *calls* execve (nb3sh-… → 3), 3.2 the name of the
 * program *after* the exec (nb3new-… → 4).
 */
async function countByComm(program: string): Promise<{ counts: Map<string, number>; out: string; names: { caller: string; started: string } } | string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'nb3-'));
  const names = { caller: `nb3sh-${process.pid}`.slice(0, 15), started: `nb3new-${process.pid}`.slice(0, 15) };
  try {
    copyFileSync('/bin/dash', path.join(dir, names.caller));
    copyFileSync('/bin/true', path.join(dir, names.started));
    spawnSync('chmod', ['755', path.join(dir, names.caller), path.join(dir, names.started)]);
    const file = path.join(dir, 'answer.bt');
    writeFileSync(file, program);
    const run = await runTool(['bpftrace', file], /^Attaching \d+ probe/m, () => {
      spawnSync(path.join(dir, names.caller), ['-c', '/bin/true; /bin/true; /bin/true; :']);
      for (let i = 0; i < 4; i++) spawnSync(path.join(dir, names.started));
    }, 120_000).catch((err: Error) => err.message);
    if (typeof run === 'string') return `bpftrace did not start: ${run}`;
    const counts = new Map<string, number>();
    for (const m of run.stdout.matchAll(/^@\w*\[(.*)\]: (\d+)$/gm)) counts.set(m[1]!, Number(m[2]));
    if (counts.size === 0 && run.exitCode !== 0 && !/^Attaching/m.test(run.stdout)) return `bpftrace failed: ${run.stderr.trim().split('\n').slice(-2).join(' / ')}`;
    return { counts, out: run.stdout, names };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const commCheck = (id: string, which: 'caller' | 'started', want: number, hint: string) => (program: string) =>
  check(id, async () => {
    const r = await countByComm(program);
    if (typeof r === 'string') return r;
    const name = r.names[which];
    const got = r.counts.get(name);
    if (got === want) return undefined;
    const shown = [...r.counts].slice(0, 6).map(([k, v]) => `@[${k}]: ${v}`).join(', ') || 'no keyed map printed';
    return got === undefined ? `no entry @[${name}] (it printed ${shown}) — ${hint}` : `@[${name}] is ${got}, not ${want} — ${hint}`;
  });

/** 3.1: per process name, the name of the caller of execve. */
export const check31 = commCheck('3.1', 'caller', 3, 'key the map by the name of the process that calls execve, counted where execve is entered');
/** 3.2: per process name, the name of the program after the exec. */
export const check32 = commCheck('3.2', 'started', 4, 'at sys_enter_execve the new program is not in place yet: which tracepoint fires once it is? (bpftrace -l)');

// 4.1 and 4.2 compile C with clang, as bpf/Makefile does, against the installed libbpf (Debian's 1.1).

/** 4.1: the course's user side, opening its perf buffer, made to compile against libbpf 1.x (-Wall -Werror). */
export const check41 = (source: string) =>
  check('4.1', () => {
    const r = tryCompile(source, ['-Wall', '-Werror'], 'user');
    if (r.ok && !/perf_buffer__new\s*\(/.test(source)) return 'it compiles, but no longer calls perf_buffer__new()';
    return r.ok ? undefined : `clang says: ${r.errors.split('\n')[0]} — how does libbpf 1.x declare perf_buffer__new()? (/usr/include/bpf/libbpf.h)`;
  });

/** 4.2: a map definition libbpf 1.x opens: the object must compile and `bpftool gen skeleton` (libbpf's bpf_object__open) accept it with a map named counts. */
export const check42 = (source: string) =>
  check('4.2', () => {
    const r = compileC(source, ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86']);
    try {
      if (!r.ok) return `clang says: ${r.errors.split('\n')[0]} — how are maps declared in bpf/counter/counter.bpf.c?`;
      const skel = spawnSync('bpftool', ['gen', 'skeleton', r.object!], { encoding: 'utf8' });
      if (skel.status !== 0) {
        const said = skel.stderr.split('\n').find((l) => /libbpf:|Error/.test(l)) ?? skel.stderr.trim();
        return `libbpf will not open the object: ${said.trim()} — how are maps declared in bpf/counter/counter.bpf.c?`;
      }
      if (!/struct bpf_map \*counts;/.test(skel.stdout)) return 'the object opens, but has no map named counts';
      const btf = spawnSync('bpftool', ['btf', 'dump', 'file', r.object!], { encoding: 'utf8' }).stdout;
      return /VAR 'counts'/.test(btf) ? undefined : 'no BTF variable counts (in the .maps section)';
    } finally {
      rmSync(r.dir, { recursive: true, force: true });
    }
  });

// Lab 2's collector, run by the grading agent where the student's code runs. The student's code runs
// once, jailed, only to say which instructions it builds (the bundle kit/student.mjs prints them). The
// agent — not the student's process — assembles them with maps of its own, lets the verifier judge them,
// attaches them to sys_enter_execve, makes execs whose count per process it knows (how many this run
// decides: the settings), and reads the maps. It sends what it saw; the host grades (checks.ts).

import { spawn, spawnSync } from 'node:child_process';
import { u32, u64 } from '../../bpf/ts/codec.js';
import { VerifierError } from '../../bpf/ts/errors.js';
import { assemble, Instruction } from '../../bpf/ts/insn.js';
import { createMap } from '../../bpf/ts/map.js';
import { loadProgram } from '../../bpf/ts/prog.js';
import { attachTracepoint } from '../../bpf/ts/tracepoint.js';
import type { CollectContext } from '../../harness/grade/lab.js';
import { abnormalEnd } from '../../harness/grade/sandbox.js';
import { explainRejection } from '../../bpf/ts/explain.js';
import { HELPER } from '../../harness/examples/exec-workload.js';
import { ALLOWED_HELPERS, PROGRAM_LINE, type CounterEvidence, type CounterSettings, type Workload } from './shared.js';

/** The instruction fields a program may carry: nothing else is taken from the student's output. */
const FIELDS = ['code', 'dst', 'src', 'off', 'imm', 'labelName', 'commentText', 'jumpTo', 'mapName'] as const;

/** The student's output → instructions, or why not. Only plain fields, each checked, become an Instruction. */
function instructions(stdout: string): Instruction[] | string {
  const line = stdout.split('\n').find((l) => l.startsWith(PROGRAM_LINE));
  if (!line) return 'counterProgram() gave no program';
  let list: unknown;
  try {
    list = JSON.parse(line.slice(PROGRAM_LINE.length));
  } catch {
    return 'the program could not be read';
  }
  if (!Array.isArray(list) || list.length === 0 || list.length > 4096) return 'counterProgram() must return a non-empty list of instructions';
  const out: Instruction[] = [];
  for (const raw of list as Record<string, unknown>[]) {
    if (typeof raw !== 'object' || raw === null) return 'an entry of the list is not an instruction';
    const f: Record<string, unknown> = {};
    for (const k of FIELDS) if (raw[k] !== undefined) f[k] = raw[k];
    const int = (v: unknown) => typeof v === 'number' && Number.isInteger(v);
    if (!int(f.code) || !int(f.dst) || !int(f.src) || !int(f.off)) return 'an instruction without its code, registers or offset';
    if (typeof f.imm === 'string' && /^-?\d+$/.test(f.imm)) f.imm = BigInt(f.imm);
    else if (!int(f.imm)) return 'an instruction without its immediate';
    for (const k of ['labelName', 'commentText', 'jumpTo', 'mapName'] as const) if (f[k] !== undefined && typeof f[k] !== 'string') return `an instruction whose ${k} is not text`;
    out.push(new Instruction(f as unknown as ConstructorParameters<typeof Instruction>[0]));
  }
  return out;
}

/** The helpers the program calls (call insns with src 0: helper calls), by number. */
const helpersCalled = (hex: string): number[] => {
  const b = Buffer.from(hex, 'hex');
  const ids: number[] = [];
  for (let o = 0; o + 8 <= b.length; o += 8) if (b[o] === 0x85 && (b[o + 1]! >> 4) === 0) ids.push(b.readInt32LE(o + 4));
  return ids;
};

/** Runs `argv` and waits; its pid. */
const run = (argv: string[]): number => {
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore', env: {} });
  if (r.status !== 0 || r.pid === undefined) throw new Error(`lab 2 workload: ${argv.join(' ')} exited ${r.status ?? r.signal}`);
  return r.pid;
};

/** The execs this run makes, each process with the count it must have. */
async function makeExecs(w: CounterSettings['workload']): Promise<Workload> {
  const procs: Workload = [];
  for (let i = 0; i < w.singles; i++) procs.push({ kind: 'single', pid: run(['/bin/true']), execs: 1 });
  // env execs the next env: one process, `n` execs, the last one true
  const chain = (n: number) => run(['/usr/bin/env', ...Array.from({ length: n - 2 }, () => '/usr/bin/env'), '/bin/true']);
  procs.push({ kind: 'chain-4', pid: chain(4), execs: 4 });
  procs.push({ kind: 'chain-many', pid: chain(w.many), execs: w.many });
  // exec_helper is exec'd (1), then one of its threads execs true (2): both are its process's
  procs.push({ kind: 'thread', pid: run([HELPER, 'thread', '/bin/true', 'true']), execs: 2 });
  // short-lived children of one process, each exec'ing from a non-main thread; the helper says their pids
  const storm = spawn(HELPER, ['storm', String(w.stormChildren), '/bin/true', 'true'], { stdio: ['ignore', 'pipe', 'ignore'], env: {} });
  let out = '';
  storm.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const code = await new Promise<number | null>((resolve) => storm.on('close', resolve));
  const children = out.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { pid: number }).pid);
  if (code !== 0 || children.length !== w.stormChildren) throw new Error(`lab 2 workload: exec_helper storm exited ${code} after ${children.length} execs`);
  procs.push({ kind: 'storm-launcher', pid: storm.pid!, execs: 1 });
  for (const pid of children) procs.push({ kind: 'storm-child', pid, execs: 1 });
  return procs;
}

export async function collect(ctx: CollectContext<CounterSettings>): Promise<void> {
  // 1. the student's code, jailed: which instructions does counterProgram() build?
  const r = await ctx.run(process.execPath, [`${ctx.kit}/student.mjs`]);
  const abnormal = abnormalEnd(r, ctx.limits);
  const list = abnormal ? undefined : instructions(r.stdout);
  if (abnormal || typeof list !== 'object') {
    const lines = r.stderr.trim().split('\n').filter(Boolean);
    const error = lines.find((l) => /^\w*(Error|Exception)\b/.test(l));
    const why = abnormal ?? (r.exitCode !== 0 ? `the program stopped (exit ${r.exitCode ?? r.signal}) before it gave its instructions` : String(list));
    ctx.emit('program', { error: why, detail: error ? [error] : lines.slice(-3) } satisfies CounterEvidence['program']);
    return;
  }
  // 2. the agent's own maps, assembled and loaded by the agent
  const total = createMap({ name: 'total', type: 'array', key: u32, value: u64, maxEntries: 1 });
  const perPid = createMap({ name: 'per_pid', type: 'hash', key: u32, value: u64, maxEntries: 10240 });
  let program;
  try {
    program = assemble(list, { maps: { total, per_pid: perPid } });
  } catch (err) {
    ctx.emit('program', { error: `the program does not assemble: ${(err as Error).message.split('\n')[0]}` });
    return;
  }
  const insns = program.encode().toString('hex');
  // a helper outside the lab's (bpf_probe_write_user, …) could reach the agent itself: not loaded at all
  const foreign = helpersCalled(insns).filter((id) => !ALLOWED_HELPERS.includes(id));
  ctx.emit('program', { insns, ...(foreign.length ? { foreignHelpers: foreign } : {}) });
  if (foreign.length) return;
  let prog;
  try {
    prog = loadProgram({ name: 'lab_counter', type: 'tracepoint', insns: program, logLevel: 1 });
  } catch (err) {
    if (!(err instanceof VerifierError)) throw err;
    const x = explainRejection(program, err);
    const at = x.slot === undefined ? 'the whole program' : x.listing.split('\n').find((l) => l.includes('<-- verifier'))!.split('<--')[0]!.trim();
    ctx.emit('load', { rejected: { words: x.words, at } });
    return;
  }
  ctx.emit('load', { ok: true });
  // 3. execs whose counts are known, counted by the student's program
  const link = attachTracepoint(prog, 'syscalls', 'sys_enter_execve');
  try {
    const before = Number(total.get(0) ?? 0n);
    const procs = await makeExecs(ctx.settings.workload);
    const after = Number(total.get(0) ?? 0n);
    ctx.emit('counts', {
      totalDelta: after - before,
      procs: procs.map((p) => ({ ...p, counted: Number(perPid.get(p.pid) ?? 0n) })),
      agent: perPid.get(process.pid) === undefined ? 0 : Number(perPid.get(process.pid)),
      entries: [...perPid.keys()].length,
    } satisfies CounterEvidence['counts']);
  } finally {
    link.close();
    prog.close();
    total.close();
    perPid.close();
  }
}

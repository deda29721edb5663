// Lab 1's collector, run by the grading agent where the student's code runs. The student's map functions
// run in their own jailed process (kit/student.mjs: a line in, a line out, one call each); the agent asks
// for each call in turn and, between calls, asks the kernel itself what the right answer is — on the
// student's own maps, taken from that process with pidfd_getfd(2), or on a twin in the same state. It
// sends both answers for every case; the host compares them (checks.ts). Nothing the student's process
// prints is taken for more than its own answer.

import koffi from 'koffi';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Cmd, MapElemAttr, MapInfo, ObjInfoAttr, readU32 } from '../../bpf/ts/attr.js';
import { bpfCommandRaw } from '../../bpf/ts/command.js';
import { sys } from '../../bpf/ts/syscall.js';
import type { CollectContext } from '../../harness/grade/lab.js';
import { openCgroup } from '../../harness/grade/sandbox.js';
import { RPC_LINE, type Answer, type MapsCase, type MapsGroup } from './shared.js';

const SYS_PIDFD_OPEN = 434; // x86_64, as bpf/ts/syscall.ts
const SYS_PIDFD_GETFD = 438;

/** The student's process: call(fn, …args) → its answer; its fds, as fds of ours. */
class Student {
  private readonly pending: ((a: Answer) => void)[] = [];
  private pidfd = -1;
  /** Why the student's process is gone, once it is. */
  stopped?: string;
  private readonly syscall3: (nr: number, a: number, b: number, c: number) => number;
  constructor(
    private readonly child: ReturnType<typeof spawn>,
    private readonly timeoutMs: number,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith(RPC_LINE)) return; // its own prints
      let a: Answer;
      try {
        a = JSON.parse(line.slice(RPC_LINE.length)) as Answer;
      } catch {
        a = { threw: 'an answer that could not be read' };
      }
      this.pending.shift()?.(a);
    });
    child.on('close', (code, signal) => {
      this.stopped = `the program stopped (exit ${code ?? signal})`;
      this.pending.splice(0).forEach((p) => p({ threw: this.stopped! }));
    });
    // syscall(2) with three integer arguments: pidfd_open and pidfd_getfd have no libc wrapper in Debian 12's glibc
    this.syscall3 = koffi.load('libc.so.6').func('long syscall(long nr, long a, long b, long c)') as (nr: number, a: number, b: number, c: number) => number;
  }

  async call(fn: string, ...args: unknown[]): Promise<Answer> {
    if (this.stopped) return { threw: this.stopped };
    const enc = args.map((a) => (Buffer.isBuffer(a) ? { hex: a.toString('hex') } : a));
    const answer = new Promise<Answer>((resolve) => {
      const timer = setTimeout(() => resolve({ threw: `no answer within ${this.timeoutMs / 1000} s` }), this.timeoutMs);
      this.pending.push((a) => {
        clearTimeout(timer);
        resolve(a);
      });
    });
    this.child.stdin!.write(`${JSON.stringify({ fn, args: enc })}\n`);
    return answer;
  }

  /** The student's fd `fd`, duplicated into this process; -1 when it is not one. */
  take(fd: number): number {
    if (this.pidfd < 0) this.pidfd = this.syscall3(SYS_PIDFD_OPEN, this.pid(), 0, 0);
    return this.pidfd < 0 || !Number.isInteger(fd) || fd < 0 ? -1 : this.syscall3(SYS_PIDFD_GETFD, this.pidfd, fd, 0);
  }

  /** The student's process as this pid namespace sees it: the jail's relay → its init → the program. */
  private pid(): number {
    const children = (pid: number) => readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    const init = children(this.child.pid!)[0];
    return init === undefined ? -1 : (children(init)[0] ?? -1);
  }

  close(): void {
    if (this.pidfd >= 0) sys().close(this.pidfd);
    this.child.stdin!.end();
  }
}

const key = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const val = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

// The kernel's answers, asked by the agent itself.
const kernel = {
  lookup(fd: number, kb: Buffer, size: number): Answer {
    const value = Buffer.alloc(size);
    const { ret } = bpfCommandRaw(Cmd.map_lookup_elem, MapElemAttr, { map_fd: fd, key: kb, value });
    return ret < 0 ? { value: ret } : { value: { hex: value.toString('hex') } };
  },
  update: (fd: number, kb: Buffer, vb: Buffer, flags: number): Answer => ({ value: bpfCommandRaw(Cmd.map_update_elem, MapElemAttr, { map_fd: fd, key: kb, value: vb, flags }).ret }),
  delete: (fd: number, kb: Buffer): Answer => ({ value: bpfCommandRaw(Cmd.map_delete_elem, MapElemAttr, { map_fd: fd, key: kb }).ret }),
  info(fd: number): Answer {
    const buf = Buffer.alloc(64);
    const { ret } = bpfCommandRaw(Cmd.obj_get_info_by_fd, ObjInfoAttr, { bpf_fd: fd, info_len: buf.length, info: buf });
    if (ret < 0) return { value: ret };
    return { value: { type: readU32(MapInfo, buf, 'type'), key: readU32(MapInfo, buf, 'key_size'), value: readU32(MapInfo, buf, 'value_size'), max: readU32(MapInfo, buf, 'max_entries') } };
  },
};

/** The keys an answer of mapKeys names, sorted, as u32s; the answer itself when it is not a list. */
const keysOf = (a: Answer): Answer => {
  if (!('value' in a) || !Array.isArray(a.value)) return a;
  const keys = (a.value as unknown[]).map((k) => (typeof k === 'object' && k !== null && 'hex' in k ? Buffer.from(String((k as { hex: string }).hex), 'hex').readUInt32LE(0) : NaN));
  return { value: keys.sort((x, y) => x - y) };
};

export async function collect(ctx: CollectContext): Promise<void> {
  const cgroup = await openCgroup(ctx.limits);
  const [file, ...args] = cgroup.wrap(ctx.jailed([process.execPath, `${ctx.kit}/student.mjs`]));
  const child = spawn(file!, args, { cwd: ctx.dir, stdio: ['pipe', 'pipe', 'pipe'], env: {} });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const student = new Student(child, ctx.limits.timeoutMs);
  const cases: MapsCase[] = [];
  const push = (group: MapsGroup, name: string, got: Answer, want: Answer) => cases.push({ group, name, got, want });
  const own: number[] = [];
  const mine = (fd: number) => {
    const f = student.take(fd);
    if (f >= 0) own.push(f);
    return f;
  };
  try {
    const created = async (type: 'hash' | 'array', max: number): Promise<number | undefined> => {
      const what = `create ${type === 'array' ? 'an array' : 'a hash'} map (4-byte keys, 8-byte values, ${max} entries)`;
      const a = await student.call('mapCreate', type, 4, 8, max);
      const fd = 'value' in a && typeof a.value === 'number' && a.value >= 0 ? mine(a.value) : -1;
      const want: Answer = { value: { type: type === 'hash' ? 1 : 2, key: 4, value: 8, max } };
      push('create', what, fd >= 0 ? kernel.info(fd) : a, want);
      return fd >= 0 ? (a as { value: number }).value : undefined;
    };
    // the student's fd numbers (theirs) and ours for the same maps
    const array = await created('array', 4);
    const hash = await created('hash', 64);
    for (const fd of [array, hash]) {
      if (fd === undefined) continue;
      const kind = fd === array ? 'array' : 'hash';
      const ours = mine(fd);
      push('update', `${kind}: update key 1 = 42`, await student.call('mapUpdate', fd, key(1), val(42), 0), { value: 0 });
      push('update', `${kind}: the kernel reads key 1 after your update`, kernel.lookup(ours, key(1), 8), { value: { hex: val(42).toString('hex') } });
      kernel.update(ours, key(2), val(7), 0);
      push('lookup', `${kind}: lookup of key 2 the kernel set to 7`, await student.call('mapLookup', fd, key(2), 8), kernel.lookup(ours, key(2), 8));
      push('lookup', `${kind}: lookup of key 3 (never set)`, await student.call('mapLookup', fd, key(3), 8), kernel.lookup(ours, key(3), 8));
      push('lookup', `${kind}: lookup of key 9 (out of an array's range)`, await student.call('mapLookup', fd, key(9), 8), kernel.lookup(ours, key(9), 8));
    }
    // flags: the student's answer on their map against the kernel's on a twin in the same state
    for (const type of ['array', 'hash'] as const) {
      const a = await student.call('mapCreate', type, 4, 8, 4);
      const b = await student.call('mapCreate', type, 4, 8, 4);
      if (!('value' in a) || !('value' in b) || typeof a.value !== 'number' || typeof b.value !== 'number' || a.value < 0 || b.value < 0) continue;
      const theirs = mine(b.value);
      const steps: [string, number, number, number][] = [
        ['BPF_NOEXIST on a missing key', 1, 11, 1],
        ['BPF_NOEXIST on that key again', 1, 12, 1],
        ['BPF_EXIST on it', 1, 13, 2],
        ['BPF_EXIST on a missing key', 2, 14, 2],
        ['BPF_ANY on a missing key', 3, 15, 0],
        ['an out-of-range key', 99, 16, 0],
        ['flags 4 (BPF_F_LOCK on a map without a lock)', 1, 17, 4],
      ];
      for (const [name, kk, v, flags] of steps) {
        const want = kernel.update(theirs, key(kk), val(v), flags);
        push('flags', `${type}: ${name}`, await student.call('mapUpdate', a.value, key(kk), val(v), flags), want);
      }
      push('delete', `${type}: delete key 1`, await student.call('mapDelete', a.value, key(1)), kernel.delete(theirs, key(1)));
      push('delete', `${type}: delete key 5 (never set)`, await student.call('mapDelete', a.value, key(5)), kernel.delete(theirs, key(5)));
      push('delete', `${type}: key 1 after the delete`, kernel.lookup(mine(a.value), key(1), 8), kernel.lookup(theirs, key(1), 8));
    }
    if (hash !== undefined) {
      const ours = mine(hash);
      for (const n of [10, 20, 30, 40, 50]) kernel.update(ours, key(n), val(n), 0);
      push('iterate', 'hash: every key once', keysOf(await student.call('mapKeys', hash, 4)), { value: [1, 2, 10, 20, 30, 40, 50] });
      const none = await student.call('mapCreate', 'hash', 4, 8, 8);
      if ('value' in none && typeof none.value === 'number' && none.value >= 0) push('iterate', 'hash: no key in an empty map', keysOf(await student.call('mapKeys', none.value, 4)), { value: [] });
    }
    if (array !== undefined) push('iterate', 'array: the keys 0 to max_entries-1', keysOf(await student.call('mapKeys', array, 4)), { value: [0, 1, 2, 3] });
    // hidden: a walk over 200 keys while half of them were deleted still ends, with the rest
    const churn = await student.call('mapCreate', 'hash', 4, 8, 256);
    if ('value' in churn && typeof churn.value === 'number' && churn.value >= 0) {
      const ours = mine(churn.value);
      for (let n = 0; n < 200; n++) kernel.update(ours, key(n), val(n), 0);
      for (let n = 0; n < 200; n += 2) kernel.delete(ours, key(n));
      const got = keysOf(await student.call('mapKeys', churn.value, 4));
      push('churn', 'hash: the 100 keys left of 200', 'value' in got && Array.isArray(got.value) ? { value: new Set(got.value as number[]).size } : got, { value: 100 });
    }
    ctx.emit('cases', { cases, ...(stderr.trim() ? { stderr: stderr.trim().split('\n').slice(-3) } : {}) });
  } finally {
    for (const fd of own) sys().close(fd);
    student.close();
    await cgroup.close();
  }
}

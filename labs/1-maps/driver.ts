// Lab 1's driver: exercises the student's map functions and asks the kernel, through the project's own
// bpf() layer, what the right answer is for each case (same map, same key). Prints one report.

// The grader's bundler points this import at the submission's maps.ts; the reference gives the types.
import * as student from './solution/maps.js';
import { Cmd, MapElemAttr, MapInfo, ObjInfoAttr, readU32 } from '../../bpf/ts/attr.js';
import { bpfCommandRaw } from '../../bpf/ts/command.js';
import { sys } from '../../bpf/ts/syscall.js';
import { report, tally } from '../../harness/grade/driver-api.js';

type Case = { name: string; ok: boolean; detail?: string };
const groups: Record<string, Case[]> = { create: [], update: [], lookup: [], flags: [], delete: [], iterate: [], churn: [] };
const errno = (n: number) => ({ [-1]: 'EPERM', [-2]: 'ENOENT', [-7]: 'E2BIG', [-9]: 'EBADF', [-14]: 'EFAULT', [-17]: 'EEXIST', [-22]: 'EINVAL', [-38]: 'ENOSYS' })[n] ?? String(n);
const show = (v: unknown) => (typeof v === 'number' ? (v < 0 ? `-${errno(v)}` : String(v)) : Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : JSON.stringify(v));
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

/** Run the student's code; an exception is a wrong answer with its message. */
function attempt<T>(f: () => T): T | { threw: string } {
  try {
    return f();
  } catch (err) {
    return { threw: (err as Error).message.split('\n')[0]! };
  }
}

function same(group: string, name: string, got: unknown, want: unknown): void {
  const eq = Buffer.isBuffer(got) && Buffer.isBuffer(want) ? got.equals(want) : got === want;
  groups[group]!.push({ name, ok: eq, detail: eq ? undefined : `got ${show(got)}, the kernel says ${show(want)}` });
}

// The kernel's answers, through the project's layer.
const k = {
  lookup(fd: number, kb: Buffer, size: number): Buffer | number {
    const value = Buffer.alloc(size);
    const { ret } = bpfCommandRaw(Cmd.map_lookup_elem, MapElemAttr, { map_fd: fd, key: kb, value });
    return ret < 0 ? ret : value;
  },
  update: (fd: number, kb: Buffer, vb: Buffer, flags: number) => bpfCommandRaw(Cmd.map_update_elem, MapElemAttr, { map_fd: fd, key: kb, value: vb, flags }).ret,
  delete: (fd: number, kb: Buffer) => bpfCommandRaw(Cmd.map_delete_elem, MapElemAttr, { map_fd: fd, key: kb }).ret,
  info(fd: number): { type: number; key: number; value: number; max: number } | number {
    const buf = Buffer.alloc(64);
    const { ret } = bpfCommandRaw(Cmd.obj_get_info_by_fd, ObjInfoAttr, { bpf_fd: fd, info_len: buf.length, info: buf });
    if (ret < 0) return ret;
    return { type: readU32(MapInfo, buf, 'type'), key: readU32(MapInfo, buf, 'key_size'), value: readU32(MapInfo, buf, 'value_size'), max: readU32(MapInfo, buf, 'max_entries') };
  },
};

function created(type: 'hash' | 'array', max: number): number | undefined {
  const fd = attempt(() => student.mapCreate(type, 4, 8, max));
  if (typeof fd !== 'number' || fd < 0) {
    groups.create!.push({ name: `create ${type === 'array' ? 'an array' : 'a hash'} map`, ok: false, detail: typeof fd === 'number' ? `returned -${errno(fd)}` : `threw ${fd.threw}` });
    return undefined;
  }
  const info = k.info(fd);
  const want = { type: type === 'hash' ? 1 : 2, key: 4, value: 8, max };
  const ok = typeof info === 'object' && JSON.stringify(info) === JSON.stringify(want);
  groups.create!.push({ name: `create ${type === 'array' ? 'an array' : 'a hash'} map (4-byte keys, 8-byte values, ${max} entries)`, ok, detail: ok ? undefined : `the kernel's info says ${JSON.stringify(info)}` });
  return fd;
}

const array = created('array', 4);
const hash = created('hash', 64);
for (const fd of [array, hash]) {
  if (fd === undefined) continue;
  const kind = fd === array ? 'array' : 'hash';
  // update by the student, read back by the kernel; and the other way round
  same('update', `${kind}: update key 1 = 42, then the kernel reads`, attempt(() => student.mapUpdate(fd, key(1), val(42), 0)), 0);
  same('update', `${kind}: the kernel reads key 1 after your update`, k.lookup(fd, key(1), 8), val(42));
  k.update(fd, key(2), val(7), 0);
  same('lookup', `${kind}: lookup of key 2 the kernel set to 7`, attempt(() => student.mapLookup(fd, key(2), 8)), val(7));
  same('lookup', `${kind}: lookup of key 3 (never set)`, attempt(() => student.mapLookup(fd, key(3), 8)), k.lookup(fd, key(3), 8));
  same('lookup', `${kind}: lookup of key 9 (out of an array's range)`, attempt(() => student.mapLookup(fd, key(9), 8)), k.lookup(fd, key(9), 8));
}
// flags: the student's answer against the kernel's on a twin of the same map in the same state
for (const type of ['array', 'hash'] as const) {
  const mine = attempt(() => student.mapCreate(type, 4, 8, 4));
  const theirs = attempt(() => student.mapCreate(type, 4, 8, 4));
  if (typeof mine !== 'number' || typeof theirs !== 'number' || mine < 0 || theirs < 0) continue;
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
    const want = k.update(theirs, key(kk), val(v), flags);
    same('flags', `${type}: ${name}`, attempt(() => student.mapUpdate(mine, key(kk), val(v), flags)), want);
  }
  const del = k.delete(theirs, key(1));
  same('delete', `${type}: delete key 1`, attempt(() => student.mapDelete(mine, key(1))), del);
  same('delete', `${type}: delete key 5 (never set)`, attempt(() => student.mapDelete(mine, key(5))), k.delete(theirs, key(5)));
  same('delete', `${type}: key 1 after the delete`, k.lookup(mine, key(1), 8), k.lookup(theirs, key(1), 8));
  sys().close(mine);
  sys().close(theirs);
}
// iteration: every key once
if (hash !== undefined) {
  for (const n of [10, 20, 30, 40, 50]) k.update(hash, key(n), val(n), 0);
  const keys = attempt(() => student.mapKeys(hash, 4));
  const want = [1, 2, 10, 20, 30, 40, 50];
  const got = Array.isArray(keys) ? keys.map((b) => b.readUInt32LE(0)).sort((a, b) => a - b) : keys;
  same('iterate', 'hash: every key once', JSON.stringify(got), JSON.stringify(want));
  const none = attempt(() => student.mapCreate('hash', 4, 8, 8));
  if (typeof none === 'number' && none >= 0) same('iterate', 'hash: no key in an empty map', JSON.stringify(attempt(() => student.mapKeys(none, 4))), '[]');
}
if (array !== undefined) {
  const keys = attempt(() => student.mapKeys(array, 4));
  same('iterate', 'array: the keys 0 to max_entries-1', JSON.stringify(Array.isArray(keys) ? keys.map((b) => b.readUInt32LE(0)) : keys), '[0,1,2,3]');
}
// hidden: a walk over 200 keys while deleting every other one still ends, with the rest
{
  const fd = attempt(() => student.mapCreate('hash', 4, 8, 256));
  if (typeof fd === 'number' && fd >= 0) {
    for (let n = 0; n < 200; n++) k.update(fd, key(n), val(n), 0);
    for (let n = 0; n < 200; n += 2) k.delete(fd, key(n));
    const keys = attempt(() => student.mapKeys(fd, 4));
    same('churn', 'hash: 100 keys left of 200', Array.isArray(keys) ? new Set(keys.map((b) => b.readUInt32LE(0))).size : JSON.stringify(keys), 100);
  }
}

report(Object.fromEntries(Object.entries(groups).map(([g, cases]) => [g, tally(cases)])));

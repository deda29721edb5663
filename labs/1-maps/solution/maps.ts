// Lab 1, reference solution: BPF maps through nothing but bpf(2). Each function builds the union bpf_attr
// by hand, as <linux/bpf.h> lays it out, and returns what the kernel answers: an fd or 0, else -errno.

import { sys } from 'ebpf-lab/bpf/ts/syscall.js';

const BPF_MAP_CREATE = 0;
const BPF_MAP_LOOKUP_ELEM = 1;
const BPF_MAP_UPDATE_ELEM = 2;
const BPF_MAP_DELETE_ELEM = 3;
const BPF_MAP_GET_NEXT_KEY = 4;
const MAP_TYPES = { hash: 1, array: 2 } as const;

/** The attribute for the element commands: map_fd (u32), pad, key (u64 pointer), value / next_key, flags. */
function elemAttr(fd: number, key: Buffer | null, value: Buffer | null, flags = 0): { attr: Buffer; keep: (Buffer | null)[] } {
  const attr = Buffer.alloc(32);
  attr.writeUInt32LE(fd, 0);
  if (key) attr.writeBigUInt64LE(sys().address(key), 8);
  if (value) attr.writeBigUInt64LE(sys().address(value), 16);
  attr.writeBigUInt64LE(BigInt(flags), 24);
  return { attr, keep: [key, value] }; // keep: the buffers must live until the call returns
}

export function mapCreate(type: 'hash' | 'array', keySize: number, valueSize: number, maxEntries: number): number {
  const attr = Buffer.alloc(20); // map_type, key_size, value_size, max_entries, map_flags: u32 each
  attr.writeUInt32LE(MAP_TYPES[type], 0);
  attr.writeUInt32LE(keySize, 4);
  attr.writeUInt32LE(valueSize, 8);
  attr.writeUInt32LE(maxEntries, 12);
  return sys().bpf(BPF_MAP_CREATE, attr, attr.length);
}

export function mapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): number {
  const { attr } = elemAttr(fd, key, value, flags);
  return sys().bpf(BPF_MAP_UPDATE_ELEM, attr, attr.length);
}

export function mapLookup(fd: number, key: Buffer, valueSize: number): Buffer | number {
  const value = Buffer.alloc(valueSize);
  const { attr } = elemAttr(fd, key, value);
  const ret = sys().bpf(BPF_MAP_LOOKUP_ELEM, attr, attr.length);
  return ret < 0 ? ret : value;
}

export function mapDelete(fd: number, key: Buffer): number {
  const { attr } = elemAttr(fd, key, null);
  return sys().bpf(BPF_MAP_DELETE_ELEM, attr, attr.length);
}

/** Every key, walking with GET_NEXT_KEY from no key (the first) until ENOENT (the last). */
export function mapKeys(fd: number, keySize: number): Buffer[] | number {
  const keys: Buffer[] = [];
  let key: Buffer | null = null;
  for (;;) {
    const next = Buffer.alloc(keySize);
    const { attr } = elemAttr(fd, key, next);
    const ret = sys().bpf(BPF_MAP_GET_NEXT_KEY, attr, attr.length);
    if (ret === -2) return keys; // ENOENT: past the last key
    if (ret < 0) return ret;
    keys.push(next);
    key = next;
  }
}

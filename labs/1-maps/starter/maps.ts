// Lab 1: BPF maps through nothing but bpf(2). Each function builds the union bpf_attr by hand, as
// <linux/bpf.h> lays it out, and returns what the kernel answers: an fd or 0, else -errno.
// Fill in every Assignment#N (README.md says what each one asks).

import { sys } from 'ebpf-lab/bpf/ts/syscall.js';

const BPF_MAP_CREATE = 0;
const BPF_MAP_LOOKUP_ELEM = 1;
const BPF_MAP_UPDATE_ELEM = 2;
const BPF_MAP_DELETE_ELEM = 3;
const BPF_MAP_GET_NEXT_KEY = 4;
const MAP_TYPES = { hash: 1, array: 2 } as const;

/** The attribute for the element commands: map_fd (u32), pad, key (u64 pointer), value / next_key, flags. */
function elemAttr(fd: number, key: Buffer | null, value: Buffer | null, flags = 0): { attr: Buffer; keep: (Buffer | null)[] } {
  // Assignment#2: 32 bytes: map_fd at 0, the key's address at 8, the value's (or next key's) at 16, flags at 24
  // (sys().address(buf) gives a Buffer's address as a bigint)
  const attr = Buffer.alloc(32);
  return { attr, keep: [key, value] }; // keep: the buffers must live until the call returns
}

export function mapCreate(type: 'hash' | 'array', keySize: number, valueSize: number, maxEntries: number): number {
  // Assignment#1: BPF_MAP_CREATE with map_type, key_size, value_size and max_entries (u32 each, in that order)
  return -38; // ENOSYS
}

export function mapUpdate(fd: number, key: Buffer, value: Buffer, flags: number): number {
  // Assignment#3: BPF_MAP_UPDATE_ELEM with the key, the value and flags (BPF_ANY 0, BPF_NOEXIST 1, BPF_EXIST 2)
  return -38;
}

export function mapLookup(fd: number, key: Buffer, valueSize: number): Buffer | number {
  // Assignment#4: BPF_MAP_LOOKUP_ELEM: the kernel writes the value into a buffer you give it
  return -38;
}

export function mapDelete(fd: number, key: Buffer): number {
  // Assignment#5: BPF_MAP_DELETE_ELEM
  return -38;
}

/** Every key, walking with GET_NEXT_KEY from no key (the first) until ENOENT (the last). */
export function mapKeys(fd: number, keySize: number): Buffer[] | number {
  // Assignment#6: walk the keys with BPF_MAP_GET_NEXT_KEY, starting from no key, until ENOENT
  return [];
}

// Reading the kernel's BTF (/sys/kernel/btf/vmlinux) to find where a struct field lives — what libbpf's
// CO-RE relocations do when it loads a program, done by hand: the `ts` execsnoop asks for
// task_struct.real_parent and task_struct.tgid here and bakes the offsets into its instructions.
//
// Format: include/uapi/linux/btf.h — a header, then a type section (struct btf_type records, each followed
// by kind-specific data) and a string section. Type ids count from 1 (0 is void), in section order.

import { readFileSync } from 'node:fs';
import { BtfInfo, Cmd, cString, encodeAttr, GetIdAttr, layoutEnd, ObjInfoAttr, readU32, type AttrValue } from './attr.js';
import { bpfCommandRaw } from './command.js';
import { sys } from './syscall.js';

/** Where the kernel publishes its BTF as a file. */
export const VMLINUX_BTF_PATH = '/sys/kernel/btf/vmlinux';

const BTF_MAGIC = 0xeb9f;

/** BTF_KIND_* from <linux/btf.h>. */
export const BtfKind = {
  INT: 1, PTR: 2, ARRAY: 3, STRUCT: 4, UNION: 5, ENUM: 6, FWD: 7, TYPEDEF: 8, VOLATILE: 9, CONST: 10,
  RESTRICT: 11, FUNC: 12, FUNC_PROTO: 13, VAR: 14, DATASEC: 15, FLOAT: 16, DECL_TAG: 17, TYPE_TAG: 18, ENUM64: 19,
} as const;

export interface BtfMember {
  name: string;
  type: number;
  /** Offset from the start of the struct, in bits. */
  bitOffset: number;
  /** Non-zero for a bitfield. */
  bitSize: number;
}

export interface BtfType {
  id: number;
  kind: number;
  name: string;
  /** size for INT/STRUCT/UNION/ENUM/DATASEC/FLOAT; the referenced type id for PTR/TYPEDEF/CONST/… */
  sizeOrType: number;
  members?: BtfMember[];
  /** ARRAY: element type and count. */
  array?: { type: number; nelems: number };
}

/**
 * The kind-specific data after a btf_type, in 4-byte words: FIXED[kind] + PER_ITEM[kind] * vlen (INT: one
 * word; STRUCT/UNION: 3 words per member; ENUM: 2 per value; …; PTR, TYPEDEF, FUNC and the rest: none).
 * Tables rather than a switch: the pass over ~130,000 types runs once per process, mostly not yet compiled.
 */
const FIXED = new Uint8Array(32);
const PER_ITEM = new Uint8Array(32);
FIXED[BtfKind.INT] = 1;
FIXED[BtfKind.ARRAY] = 3;
FIXED[BtfKind.VAR] = 1;
FIXED[BtfKind.DECL_TAG] = 1;
PER_ITEM[BtfKind.STRUCT] = 3;
PER_ITEM[BtfKind.UNION] = 3;
PER_ITEM[BtfKind.ENUM] = 2;
PER_ITEM[BtfKind.FUNC_PROTO] = 2;
PER_ITEM[BtfKind.DATASEC] = 3;
PER_ITEM[BtfKind.ENUM64] = 3;

export class Btf {
  /** The type section as words (x86_64 and BTF data are both little-endian). */
  readonly #words: Uint32Array;
  /** Byte position of each type record walked so far (type id - 1), and its BTF_KIND. */
  readonly #at: Uint32Array;
  readonly #kinds: Uint8Array;
  /** Records walked: ids 1..#walked are indexed. */
  #walked = 0;
  /** The word where the next record starts. */
  #next = 0;
  readonly #decoded = new Map<number, BtfType>();
  /** Struct and union ids by name, each name searched for once. */
  readonly #structs = new Map<string, number[]>();
  readonly #data: Buffer;
  readonly #typeOff: number;
  readonly #typeLen: number;
  readonly #strOff: number;
  readonly #strLen: number;

  /**
   * Checks the header only. Type ids are found by walking the records in order (each record's length is in
   * its info word), and a lookup walks only as far as it needs: task_struct is type 114 of vmlinux's ~130,000
   * on this kernel, so the execsnoop's lookups walk a few hundred records where the whole section took 12 ms
   * on the host and ~0.3 s in a TCG guest. Decoding (names, members) is done only for the types asked for.
   */
  constructor(data: Buffer) {
    if (data.length < 24 || data.readUInt16LE(0) !== BTF_MAGIC) throw new Error('read BTF: bad magic (not little-endian BTF data)');
    const hdrLen = data.readUInt32LE(4);
    this.#data = data;
    this.#typeOff = hdrLen + data.readUInt32LE(8);
    this.#typeLen = data.readUInt32LE(12);
    this.#strOff = hdrLen + data.readUInt32LE(16);
    this.#strLen = data.readUInt32LE(20);
    if (this.#typeOff + this.#typeLen > data.length || this.#strOff + this.#strLen > data.length) throw new Error('read BTF: a section runs past the end of the data');
    const start = data.byteOffset + this.#typeOff;
    const words = this.#typeLen >>> 2;
    // records are whole words; a section not on a word boundary of its buffer is copied to one
    this.#words = start % 4 === 0 ? new Uint32Array(data.buffer, start, words) : new Uint32Array(Uint8Array.from(data.subarray(this.#typeOff, this.#typeOff + words * 4)).buffer);
    // a record is at least 3 words: room for every one
    this.#at = new Uint32Array(Math.ceil(words / 3));
    this.#kinds = new Uint8Array(this.#at.length);
  }

  /**
   * Walks on from where the last walk stopped: until type `id` is indexed, or, with `want` (struct and union
   * ids by name offset), until `missing` of its names have been found; else to the end of the section.
   */
  #walk(id: number, want?: Map<number, number[]>, missing = 0): void {
    const u32 = this.#words;
    const words = u32.length;
    const at = this.#at;
    const kinds = this.#kinds;
    let n = this.#walked;
    let w = this.#next;
    while (w < words && n < id) {
      const info = u32[w + 1]!;
      const kind = (info >>> 24) & 0x1f;
      at[n] = this.#typeOff + w * 4;
      kinds[n] = kind;
      const nameOff = u32[w]!;
      w += 3 + FIXED[kind]! + PER_ITEM[kind]! * (info & 0xffff);
      n++;
      if (want && (kind === BtfKind.STRUCT || kind === BtfKind.UNION)) {
        const ids = want.get(nameOff);
        if (ids && ids.push(n) === 1 && --missing === 0) break;
      }
    }
    this.#walked = n;
    this.#next = w;
  }

  /** The byte position of type `id`'s record, walking to it if need be. */
  #position(id: number): number {
    if (id > this.#walked) this.#walk(id);
    if (!Number.isInteger(id) || id < 1 || id > this.#walked) throw new Error(`read BTF: no type with id ${id}`);
    return this.#at[id - 1]!;
  }

  /** How many types there are (ids 1..count): the whole section walked. */
  get count(): number {
    this.#walk(Infinity);
    return this.#walked;
  }

  #str(off: number): string {
    const start = this.#strOff + off;
    const limit = this.#strOff + this.#strLen;
    const end = this.#data.indexOf(0, start);
    return this.#data.toString('utf8', start, end < 0 || end > limit ? limit : end);
  }

  #decode(id: number): BtfType {
    const data = this.#data;
    const at = this.#position(id);
    const info = data.readUInt32LE(at + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kindFlag = info >>> 31;
    const t: BtfType = { id, kind, name: this.#str(data.readUInt32LE(at)), sizeOrType: data.readUInt32LE(at + 8) };
    const extra = at + 12;
    if (kind === BtfKind.STRUCT || kind === BtfKind.UNION) {
      t.members = [];
      for (let i = 0; i < vlen; i++) {
        const m = extra + 12 * i;
        const offset = data.readUInt32LE(m + 8);
        // with kind_flag set, the top 8 bits hold a bitfield's size and the low 24 its bit offset
        t.members.push({
          name: this.#str(data.readUInt32LE(m)),
          type: data.readUInt32LE(m + 4),
          bitOffset: kindFlag ? offset & 0xffffff : offset,
          bitSize: kindFlag ? offset >>> 24 : 0,
        });
      }
    } else if (kind === BtfKind.ARRAY) {
      t.array = { type: data.readUInt32LE(extra), nelems: data.readUInt32LE(extra + 8) };
    }
    return t;
  }

  /** BTF data from a file (a vmlinux BTF saved elsewhere, or the kernel's own in sysfs). */
  static load(path = VMLINUX_BTF_PATH): Btf {
    return new Btf(readFileSync(path));
  }

  /**
   * The running kernel's BTF. bpf() copies it out in one call (BPF_OBJ_GET_INFO_BY_FD on vmlinux's BTF object,
   * 5.11+), where the sysfs file gives one page per read(): ~1,100 reads, a quarter of a second in a TCG guest.
   * An older kernel, or a process not allowed to use bpf(), reads the file.
   */
  static fromKernel(): Btf {
    return new Btf(vmlinuxBtfFromBpf() ?? readFileSync(VMLINUX_BTF_PATH));
  }

  type(id: number): BtfType {
    let t = this.#decoded.get(id);
    if (!t) this.#decoded.set(id, (t = this.#decode(id)));
    return t;
  }

  /** The struct (or union) of that name that has members (not a forward declaration). */
  struct(name: string): BtfType {
    if (!this.#structs.has(name)) this.findStructs([name]);
    const t = this.#structs.get(name)!.map((id) => this.type(id)).find((x) => x.members);
    if (!t) throw new Error(`read BTF: no struct ${name} in the kernel's BTF`);
    return t;
  }

  /**
   * Finds the first struct or union of each name, walking the types only until every name has one. The
   * string section holds each name once: its offset is found with one indexOf, and the walk compares
   * integers, decoding no name.
   */
  findStructs(names: readonly string[]): void {
    const data = this.#data;
    const strings = data.subarray(this.#strOff, this.#strOff + this.#strLen);
    const byOffset = new Map<number, number[]>();
    let findable = 0;
    for (const name of names) {
      if (this.#structs.has(name)) continue;
      const ids: number[] = [];
      this.#structs.set(name, ids);
      // a whole string: NUL before it (or the section's start) and after it
      let found = false;
      for (let from = 0; ; ) {
        const hit = strings.indexOf(`${name}\0`, from, 'latin1');
        if (hit < 0) break;
        if (hit === 0 || strings[hit - 1] === 0) (found = true), byOffset.set(hit, ids);
        from = hit + 1;
      }
      if (found) findable++; // a name not in the string section names no type: no walk for it
    }
    if (findable === 0) return;
    // among the records walked already, then on until every name has a type
    for (let i = 0; i < this.#walked; i++) {
      const kind = this.#kinds[i];
      if (kind !== BtfKind.STRUCT && kind !== BtfKind.UNION) continue;
      const ids = byOffset.get(data.readUInt32LE(this.#at[i]!));
      if (ids && ids.push(i + 1) === 1) findable--;
    }
    if (findable > 0) this.#walk(Infinity, byOffset, findable);
  }

  /** Follows typedefs and qualifiers to the type that has a size. */
  resolve(id: number): BtfType {
    let t = this.type(id);
    const skip = new Set<number>([BtfKind.TYPEDEF, BtfKind.VOLATILE, BtfKind.CONST, BtfKind.RESTRICT, BtfKind.TYPE_TAG]);
    while (skip.has(t.kind)) t = this.type(t.sizeOrType);
    return t;
  }

  sizeOf(id: number): number {
    const t = this.resolve(id);
    if (t.kind === BtfKind.PTR) return 8;
    if (t.kind === BtfKind.ARRAY) return t.array!.nelems * this.sizeOf(t.array!.type);
    return t.sizeOrType;
  }

  /**
   * Byte offset and size of a field, searching anonymous structs and unions on the way as C does:
   * fieldOf('task_struct', 'tgid') → { offset: 2516, size: 4 } (the numbers depend on the kernel).
   */
  fieldOf(structName: string, field: string): { offset: number; size: number } {
    const found = this.#find(this.struct(structName), field, 0);
    if (!found) throw new Error(`read BTF: struct ${structName} has no field ${field}`);
    if (found.member.bitSize || found.bitOffset % 8) throw new Error(`read BTF: ${structName}.${field} is a bitfield`);
    return { offset: found.bitOffset / 8, size: this.sizeOf(found.member.type) };
  }

  #find(t: BtfType, field: string, base: number): { member: BtfMember; bitOffset: number } | undefined {
    for (const m of t.members ?? []) {
      if (m.name === field) return { member: m, bitOffset: base + m.bitOffset };
      if (m.name === '') {
        const inner = this.resolve(m.type);
        const hit = inner.members ? this.#find(inner, field, base + m.bitOffset) : undefined;
        if (hit) return hit;
      }
    }
    return undefined;
  }
}

/**
 * vmlinux's BTF as bpf() hands it over: walk the BTF objects' ids (vmlinux's is the first, 1), ask each for its
 * name, then for the data. undefined when that cannot work here: a kernel before 5.11 (its BTF info has no
 * kernel_btf and vmlinux's BTF has no id), or bpf() refused.
 */
export function vmlinuxBtfFromBpf(): Buffer | undefined {
  for (let id = 0; ; ) {
    const next = bpfCommandRaw(Cmd.btf_get_next_id, GetIdAttr, { start_id: id, next_id: 0 });
    if (next.ret < 0) return undefined; // ENOENT: no more objects; EPERM: not for us
    id = readU32(GetIdAttr, next.attr, 'next_id');
    const fd = bpfCommandRaw(Cmd.btf_get_fd_by_id, GetIdAttr, { btf_id: id }).ret;
    if (fd < 0) continue; // freed since: the next one
    try {
      const name = Buffer.alloc(16);
      const about = btfInfo(fd, { name, name_len: name.length, kernel_btf: 0 });
      if (!about || about.length < layoutEnd(BtfInfo)) return undefined; // before 5.11
      if (readU32(BtfInfo, about.info, 'kernel_btf') !== 1 || cString(name) !== 'vmlinux') continue;
      const data = Buffer.allocUnsafe(readU32(BtfInfo, about.info, 'btf_size')); // the kernel writes every byte: its size is checked below
      const got = btfInfo(fd, { btf: data, btf_size: data.length });
      return got && readU32(BtfInfo, got.info, 'btf_size') === data.length ? data : undefined;
    } finally {
      sys().close(fd);
    }
  }
}

/** BPF_OBJ_GET_INFO_BY_FD on a BTF object, with the buffers given: the info the kernel filled and its length. */
function btfInfo(fd: number, values: Partial<Record<keyof typeof BtfInfo.fields, AttrValue>>) {
  const info = encodeAttr(BtfInfo, values);
  const r = bpfCommandRaw(Cmd.obj_get_info_by_fd, ObjInfoAttr, { bpf_fd: fd, info_len: info.length, info });
  return r.ret < 0 ? undefined : { info, length: readU32(ObjInfoAttr, r.attr, 'info_len') };
}

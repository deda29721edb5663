// Reading the kernel's BTF (/sys/kernel/btf/vmlinux) to find where a struct field lives — what libbpf's
// CO-RE relocations do when it loads a program, done by hand: the `ts` execsnoop asks for
// task_struct.real_parent and task_struct.tgid here and bakes the offsets into its instructions.
//
// Format: include/uapi/linux/btf.h — a header, then a type section (struct btf_type records, each followed
// by kind-specific data) and a string section. Type ids count from 1 (0 is void), in section order.

import { readFileSync } from 'node:fs';

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

/** Bytes of kind-specific data after a btf_type, per member/param/etc. (vlen) or fixed. */
function trailing(kind: number, vlen: number): number {
  switch (kind) {
    case BtfKind.INT: return 4;
    case BtfKind.ARRAY: return 12;
    case BtfKind.STRUCT: case BtfKind.UNION: return 12 * vlen;
    case BtfKind.ENUM: return 8 * vlen;
    case BtfKind.FUNC_PROTO: return 8 * vlen;
    case BtfKind.VAR: return 4;
    case BtfKind.DATASEC: return 12 * vlen;
    case BtfKind.DECL_TAG: return 4;
    case BtfKind.ENUM64: return 12 * vlen;
    default: return 0; // PTR, FWD, TYPEDEF, VOLATILE, CONST, RESTRICT, FUNC, FLOAT, TYPE_TAG
  }
}

export class Btf {
  /** Byte position of each type record (type id - 1), from one quick pass over the section. */
  readonly #at: Uint32Array;
  /** Each type's BTF_KIND, from the same pass: a search by kind reads no record again. */
  readonly #kinds: Uint8Array;
  readonly #decoded = new Map<number, BtfType>();
  /** Struct and union ids by name, each name searched for once. */
  readonly #structs = new Map<string, number[]>();
  readonly #data: Buffer;
  readonly #strOff: number;
  readonly #strLen: number;

  /**
   * Records only where each type starts and its kind: vmlinux has ~130,000 types, and decoding every one
   * (names, members) took 300 ms; a lookup decodes the few it needs.
   */
  constructor(data: Buffer) {
    if (data.length < 24 || data.readUInt16LE(0) !== BTF_MAGIC) throw new Error('read BTF: bad magic (not little-endian BTF data)');
    const hdrLen = data.readUInt32LE(4);
    const typeOff = hdrLen + data.readUInt32LE(8);
    const typeLen = data.readUInt32LE(12);
    this.#data = data;
    this.#strOff = hdrLen + data.readUInt32LE(16);
    this.#strLen = data.readUInt32LE(20);
    // a record is at least 12 bytes: room for every one, trimmed after the pass
    const at = new Uint32Array(Math.ceil(typeLen / 12));
    const kinds = new Uint8Array(at.length);
    let n = 0;
    const stop = typeOff + typeLen;
    for (let pos = typeOff; pos < stop; n++) {
      at[n] = pos;
      const info = data.readUInt32LE(pos + 4);
      const kind = (info >>> 24) & 0x1f;
      kinds[n] = kind;
      pos += 12 + trailing(kind, info & 0xffff);
    }
    this.#at = at.subarray(0, n);
    this.#kinds = kinds.subarray(0, n);
  }

  /** How many types there are (ids 1..count). */
  get count(): number {
    return this.#at.length;
  }

  #str(off: number): string {
    const start = this.#strOff + off;
    const limit = this.#strOff + this.#strLen;
    const end = this.#data.indexOf(0, start);
    return this.#data.toString('utf8', start, end < 0 || end > limit ? limit : end);
  }

  #decode(id: number): BtfType {
    const data = this.#data;
    const at = this.#at[id - 1];
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

  static load(path = '/sys/kernel/btf/vmlinux'): Btf {
    return new Btf(readFileSync(path));
  }

  type(id: number): BtfType {
    if (!Number.isInteger(id) || id < 1 || id > this.#at.length) throw new Error(`read BTF: no type with id ${id}`);
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
   * Finds the structs and unions of these names in one pass over the types (a tool asking for two structs
   * pays for one pass). The string section holds each name once: its offset is found with one indexOf, and
   * the pass compares integers, decoding no name.
   */
  findStructs(names: readonly string[]): void {
    const data = this.#data;
    const strings = data.subarray(this.#strOff, this.#strOff + this.#strLen);
    const byOffset = new Map<number, number[]>();
    for (const name of names) {
      const ids: number[] = [];
      this.#structs.set(name, ids);
      // a whole string: NUL before it (or the section's start) and after it
      for (let from = 0; ; ) {
        const hit = strings.indexOf(`${name}\0`, from, 'latin1');
        if (hit < 0) break;
        if (hit === 0 || strings[hit - 1] === 0) byOffset.set(hit, ids);
        from = hit + 1;
      }
    }
    if (byOffset.size === 0) return;
    for (let i = 0; i < this.#at.length; i++) {
      const kind = this.#kinds[i];
      if (kind !== BtfKind.STRUCT && kind !== BtfKind.UNION) continue;
      const ids = byOffset.get(data.readUInt32LE(this.#at[i]));
      if (ids) ids.push(i + 1);
    }
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

// "This is what the wrapper did": the bpf() calls a piece of the project's code makes, recorded through the
// layer's one replaceable syscall (bpf/ts/syscall.ts), and each attribute decoded field by field with the
// layouts of bpf/ts/attr.ts, so a notebook can put them beside the attribute it built by hand.

import { Cmd, MapCreateAttr, MapElemAttr, ProgLoadAttr, type Layout } from '../../bpf/ts/attr.js';
import { overrideSyscalls, sys } from '../../bpf/ts/syscall.js';
import { errnoName } from '../../bpf/ts/errors.js';

export interface RecordedCall {
  /** BPF_PROG_LOAD … */
  command: string;
  size: number;
  /** The attribute's bytes as the kernel read them (a copy taken before the call). */
  attr: Buffer;
  /** The kernel's answer: an fd, 0, or an errno name. */
  result: string;
}

const names = new Map<number, string>(Object.entries(Cmd).map(([k, v]) => [v, `BPF_${k.toUpperCase()}`]));

/** Runs fn and returns what it returned with every bpf() call it made. */
export function recordBpfCalls<T>(fn: () => T): { value: T; calls: RecordedCall[] } {
  const real = sys();
  const calls: RecordedCall[] = [];
  const restore = overrideSyscalls({
    bpf: (cmd, attr, size) => {
      const copy = Buffer.from(attr.subarray(0, size));
      const ret = real.bpf(cmd, attr, size);
      calls.push({ command: names.get(cmd) ?? `cmd ${cmd}`, size, attr: copy, result: ret < 0 ? errnoName(-ret) : String(ret) });
      return ret;
    },
  });
  try {
    return { value: fn(), calls };
  } finally {
    restore();
  }
}

/** The layout of each command's attribute, as bpf/ts/attr.ts has it. */
export const ATTR_LAYOUTS: Record<string, Layout> = {
  BPF_PROG_LOAD: ProgLoadAttr,
  BPF_MAP_CREATE: MapCreateAttr,
  BPF_MAP_UPDATE_ELEM: MapElemAttr,
  BPF_MAP_LOOKUP_ELEM: MapElemAttr,
  BPF_MAP_GET_NEXT_KEY: MapElemAttr,
  BPF_MAP_DELETE_ELEM: MapElemAttr,
};

/** One row per field inside the attribute (offset, size, value, bytes); fields that share a slot are named together. */
export function attrRows(layout: Layout, attr: Buffer): { field: string; offset: number; size: number; value: string; bytes: string }[] {
  const bySlot = new Map<number, { names: string[]; size: number; type: string }>();
  for (const [name, f] of Object.entries(layout.fields)) {
    if (f.offset + f.size > attr.length) continue;
    const slot = bySlot.get(f.offset);
    if (slot) slot.names.push(name);
    else bySlot.set(f.offset, { names: [name], size: f.size, type: f.type });
  }
  return [...bySlot].sort(([a], [b]) => a - b).map(([offset, { names, size, type }]) => {
    const bytes = attr.subarray(offset, offset + size);
    const value =
      type === 'bytes' ? JSON.stringify(bytes.toString('latin1').replace(/\0+$/, '')) :
      size === 8 ? (type === 'ptr' ? `0x${bytes.readBigUInt64LE().toString(16)}` : String(bytes.readBigUInt64LE())) :
      size === 4 ? String(bytes.readUInt32LE()) : String(bytes.readUInt16LE());
    return { field: names.join(' / '), offset, size, value, bytes: bytes.toString('hex') };
  });
}

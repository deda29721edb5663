// The kernel's ABI as data: command and type numbers, and one attribute layout per command family, with
// the same field names as <linux/bpf.h> and <linux/perf_event.h> so a reader can put them side by side.
//
// An attribute is zero-filled and only as long as the last field actually set (libbpf's `offsetofend`):
// the kernel rejects a longer attribute whose tail it does not know unless that tail is zero, and an older
// kernel never sees a field it does not know. test/bpf/ts/attr.test.ts compiles a C program against the
// installed headers and checks every offset, size, bit and number below.

import { sys } from './syscall.js';

/** enum bpf_cmd (BPF_<NAME>). */
export const Cmd = {
  map_create: 0,
  map_lookup_elem: 1,
  map_update_elem: 2,
  map_delete_elem: 3,
  map_get_next_key: 4,
  prog_load: 5,
  prog_test_run: 10,
  obj_get_info_by_fd: 15,
  btf_get_fd_by_id: 19,
  btf_get_next_id: 23,
  enable_stats: 32,
} as const;

/** enum bpf_map_type (BPF_MAP_TYPE_<NAME>). */
export const MapType = {
  hash: 1,
  array: 2,
  prog_array: 3,
  perf_event_array: 4,
  percpu_hash: 5,
  percpu_array: 6,
  lru_hash: 9,
  lru_percpu_hash: 10,
  ringbuf: 27,
} as const;
export type MapTypeName = keyof typeof MapType;

/** enum bpf_prog_type (BPF_PROG_TYPE_<NAME>). */
export const ProgType = {
  socket_filter: 1,
  kprobe: 2,
  sched_cls: 3,
  sched_act: 4,
  tracepoint: 5,
  xdp: 6,
  perf_event: 7,
  cgroup_skb: 8,
  raw_tracepoint: 17,
  tracing: 26,
} as const;
export type ProgTypeName = keyof typeof ProgType;

/** enum bpf_attach_type (BPF_<NAME>): what expected_attach_type may name. */
export const AttachType = {
  cgroup_inet_ingress: 0,
  cgroup_inet_egress: 1,
  trace_raw_tp: 23,
  trace_fentry: 24,
  trace_fexit: 25,
} as const;
export type AttachTypeName = keyof typeof AttachType;

/** enum bpf_stats_type (BPF_STATS_<NAME>): what BPF_ENABLE_STATS turns on. */
export const StatsType = { run_time: 0 } as const;

/** Map update flags (BPF_<NAME>). */
export const UpdateFlag = { any: 0, noexist: 1, exist: 2 } as const;
export type UpdateFlagName = keyof typeof UpdateFlag;

/** Other numbers from the headers, by their C names. */
export const BPF_OBJ_NAME_LEN = 16;
export const BPF_F_CURRENT_CPU = 0xffffffff;
export const BPF_RINGBUF_BUSY_BIT = 0x80000000;
export const BPF_RINGBUF_DISCARD_BIT = 0x40000000;
export const BPF_RINGBUF_HDR_SZ = 8;
export const PERF_TYPE_SOFTWARE = 1;
export const PERF_TYPE_TRACEPOINT = 2;
export const PERF_COUNT_SW_BPF_OUTPUT = 10;
export const PERF_SAMPLE_RAW = 1 << 10;
export const PERF_RECORD_LOST = 2;
export const PERF_RECORD_SAMPLE = 9;
export const PERF_FLAG_FD_CLOEXEC = 8;
export const PERF_EVENT_IOC_ENABLE = 0x2400;
export const PERF_EVENT_IOC_DISABLE = 0x2401;
export const PERF_EVENT_IOC_SET_BPF = 0x40042408;
/** The first published size of perf_event_attr; the kernel accepts nothing shorter. */
export const PERF_ATTR_SIZE_VER0 = 64;

/** Every number above with its C name, for the header check. */
export const C_CONSTANTS: Record<string, number> = {
  ...prefixed('BPF_', Cmd),
  ...prefixed('BPF_MAP_TYPE_', MapType),
  ...prefixed('BPF_PROG_TYPE_', ProgType),
  ...prefixed('BPF_', AttachType),
  ...prefixed('BPF_', UpdateFlag),
  ...prefixed('BPF_STATS_', StatsType),
  BPF_OBJ_NAME_LEN,
  BPF_F_CURRENT_CPU,
  BPF_RINGBUF_BUSY_BIT,
  BPF_RINGBUF_DISCARD_BIT,
  BPF_RINGBUF_HDR_SZ,
  PERF_TYPE_SOFTWARE,
  PERF_TYPE_TRACEPOINT,
  PERF_COUNT_SW_BPF_OUTPUT,
  PERF_SAMPLE_RAW,
  PERF_RECORD_LOST,
  PERF_RECORD_SAMPLE,
  PERF_FLAG_FD_CLOEXEC,
  PERF_EVENT_IOC_ENABLE,
  PERF_EVENT_IOC_DISABLE,
  PERF_EVENT_IOC_SET_BPF,
  PERF_ATTR_SIZE_VER0,
};

function prefixed(prefix: string, table: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [prefix + k.toUpperCase(), v]));
}

/**
 * u32/u64 are integers; `ptr` is a __aligned_u64 holding a user-space address (give it a Buffer and its
 * address is written); `bytes` is a fixed array (char name[16], __u8 tag[8]); `bits` is a u64 of bitfields.
 */
export type FieldType = 'u16' | 'u32' | 's32' | 'u64' | 'ptr' | 'bytes' | 'bits';

export interface Field {
  offset: number;
  size: number;
  type: FieldType;
  /** For `bits`: bit number of each named bitfield. */
  bits?: Record<string, number>;
}

export interface Layout<F extends string = string> {
  /** The C type and, inside union bpf_attr, the member path ("test." for PROG_TEST_RUN). */
  cType: string;
  cPrefix: string;
  fields: Record<F, Field>;
  /** Shortest length the kernel accepts (perf_event_attr: PERF_ATTR_SIZE_VER0). */
  minSize?: number;
}

const SIZES: Record<Exclude<FieldType, 'bytes'>, number> = { u16: 2, u32: 4, s32: 4, u64: 8, ptr: 8, bits: 8 };

type FieldDef = [offset: number, type: Exclude<FieldType, 'bytes' | 'bits'>] | [offset: number, type: 'bytes', size: number];

function layout<F extends string>(cType: string, cPrefix: string, defs: Record<F, FieldDef>, minSize?: number): Layout<F> {
  const fields = {} as Record<F, Field>;
  for (const name of Object.keys(defs) as F[]) {
    const def = defs[name];
    fields[name] = def[1] === 'bytes' ? { offset: def[0], size: def[2], type: 'bytes' } : { offset: def[0], size: SIZES[def[1]], type: def[1] };
  }
  return { cType, cPrefix, fields, ...(minSize !== undefined ? { minSize } : {}) };
}

const ATTR = 'union bpf_attr';

/** BPF_MAP_CREATE. */
export const MapCreateAttr = layout(ATTR, '', {
  map_type: [0, 'u32'],
  key_size: [4, 'u32'],
  value_size: [8, 'u32'],
  max_entries: [12, 'u32'],
  map_flags: [16, 'u32'],
  inner_map_fd: [20, 'u32'],
  numa_node: [24, 'u32'],
  map_name: [28, 'bytes', BPF_OBJ_NAME_LEN],
});

/** BPF_MAP_LOOKUP_ELEM, _UPDATE_ELEM, _DELETE_ELEM, _GET_NEXT_KEY: value and next_key share a slot. */
export const MapElemAttr = layout(ATTR, '', {
  map_fd: [0, 'u32'],
  key: [8, 'ptr'],
  value: [16, 'ptr'],
  next_key: [16, 'ptr'],
  flags: [24, 'u64'],
});

/** BPF_PROG_LOAD. */
export const ProgLoadAttr = layout(ATTR, '', {
  prog_type: [0, 'u32'],
  insn_cnt: [4, 'u32'],
  insns: [8, 'ptr'],
  license: [16, 'ptr'],
  log_level: [24, 'u32'],
  log_size: [28, 'u32'],
  log_buf: [32, 'ptr'],
  kern_version: [40, 'u32'],
  prog_flags: [44, 'u32'],
  prog_name: [48, 'bytes', BPF_OBJ_NAME_LEN],
  prog_ifindex: [64, 'u32'],
  expected_attach_type: [68, 'u32'],
});

/** BPF_OBJ_GET_INFO_BY_FD: the kernel writes back info_len, the bytes it filled. */
export const ObjInfoAttr = layout(ATTR, 'info.', {
  bpf_fd: [0, 'u32'],
  info_len: [4, 'u32'],
  info: [8, 'ptr'],
});

/** BPF_*_GET_NEXT_ID (the kernel writes next_id back) and BPF_*_GET_FD_BY_ID; start_id and btf_id share a slot. */
export const GetIdAttr = layout(ATTR, '', {
  start_id: [0, 'u32'],
  btf_id: [0, 'u32'],
  next_id: [4, 'u32'],
  open_flags: [8, 'u32'],
});

/** BPF_PROG_TEST_RUN: the kernel writes back retval, data_size_out and duration. */
export const ProgTestRunAttr = layout(ATTR, 'test.', {
  prog_fd: [0, 'u32'],
  retval: [4, 'u32'],
  data_size_in: [8, 'u32'],
  data_size_out: [12, 'u32'],
  data_in: [16, 'ptr'],
  data_out: [24, 'ptr'],
  repeat: [32, 'u32'],
  duration: [36, 'u32'],
  ctx_size_in: [40, 'u32'],
  ctx_size_out: [44, 'u32'],
  ctx_in: [48, 'ptr'],
  ctx_out: [56, 'ptr'],
});

/** BPF_ENABLE_STATS (5.8+): the kernel returns an fd; run_time_ns and run_cnt count while any such fd is open. */
export const EnableStatsAttr = layout(ATTR, 'enable_stats.', {
  type: [0, 'u32'],
});

/** struct bpf_prog_info, the fields this layer reads (verified_insns: 5.16+). */
export const ProgInfo = layout('struct bpf_prog_info', '', {
  type: [0, 'u32'],
  id: [4, 'u32'],
  tag: [8, 'bytes', 8],
  jited_prog_len: [16, 'u32'],
  xlated_prog_len: [20, 'u32'],
  jited_prog_insns: [24, 'ptr'],
  xlated_prog_insns: [32, 'ptr'],
  load_time: [40, 'u64'],
  created_by_uid: [48, 'u32'],
  nr_map_ids: [52, 'u32'],
  map_ids: [56, 'ptr'],
  name: [64, 'bytes', BPF_OBJ_NAME_LEN],
  run_time_ns: [192, 'u64'],
  run_cnt: [200, 'u64'],
  verified_insns: [216, 'u32'],
});

/** struct bpf_map_info, the fields this layer reads. */
export const MapInfo = layout('struct bpf_map_info', '', {
  type: [0, 'u32'],
  id: [4, 'u32'],
  key_size: [8, 'u32'],
  value_size: [12, 'u32'],
  max_entries: [16, 'u32'],
  map_flags: [20, 'u32'],
  name: [24, 'bytes', BPF_OBJ_NAME_LEN],
});

/** struct bpf_btf_info (name, name_len and kernel_btf: 5.11+, when vmlinux's BTF got an id). */
export const BtfInfo = layout('struct bpf_btf_info', '', {
  btf: [0, 'ptr'],
  btf_size: [8, 'u32'],
  id: [12, 'u32'],
  name: [16, 'ptr'],
  name_len: [24, 'u32'],
  kernel_btf: [28, 'u32'],
});

/** struct perf_event_attr, up to config2 (PERF_ATTR_SIZE_VER1). */
export const PerfEventAttr: Layout<
  | 'type'
  | 'size'
  | 'config'
  | 'sample_period'
  | 'sample_type'
  | 'read_format'
  | 'flags'
  | 'wakeup_events'
  | 'bp_type'
  | 'config1'
  | 'kprobe_func'
  | 'config2'
  | 'probe_offset'
> = (() => {
  const l = layout(
    'struct perf_event_attr',
    '',
    {
      type: [0, 'u32'],
      size: [4, 'u32'],
      config: [8, 'u64'],
      sample_period: [16, 'u64'],
      sample_type: [24, 'u64'],
      read_format: [32, 'u64'],
      flags: [40, 'u64'],
      wakeup_events: [48, 'u32'],
      bp_type: [52, 'u32'],
      // config1 and kprobe_func share a union: the kprobe PMU reads the function name's address there.
      config1: [56, 'u64'],
      kprobe_func: [56, 'ptr'],
      config2: [64, 'u64'],
      probe_offset: [64, 'u64'],
    },
    PERF_ATTR_SIZE_VER0,
  );
  // The bitfield word after read_format: disabled, inherit, … — only the bits this layer might set.
  l.fields.flags = { offset: 40, size: 8, type: 'bits', bits: { disabled: 0, inherit: 1, exclude_kernel: 5, exclude_hv: 6, watermark: 14 } };
  return l;
})();

/** struct perf_event_mmap_page: where the reader finds the ring's head, tail and data. */
export const PerfEventMmapPage = layout('struct perf_event_mmap_page', '', {
  data_head: [1024, 'u64'],
  data_tail: [1032, 'u64'],
  data_offset: [1040, 'u64'],
  data_size: [1048, 'u64'],
});

/** struct perf_event_header, in front of every record in a perf ring. */
export const PerfEventHeader = layout('struct perf_event_header', '', {
  type: [0, 'u32'],
  misc: [4, 'u16'],
  size: [6, 'u16'],
});

export type AttrValue = number | bigint | Buffer | string | Record<string, boolean> | null;

/** A zero-filled attribute; `keep` holds the buffers its pointers point at, so they outlive the call. */
export interface Attr extends Buffer {
  keep?: Buffer[];
}

/**
 * Encode an attribute: zero-filled, as long as the end of the last field given (at least `minSize`).
 * Numbers go in little-endian; a Buffer given to a `ptr` field puts its address there; a string given to
 * a `bytes` field is NUL-padded and must leave room for the NUL.
 */
export function encodeAttr<F extends string>(l: Layout<F>, values: Partial<Record<F, AttrValue>>): Attr {
  const given = (Object.keys(values) as F[]).filter((k) => values[k] !== undefined);
  let size = l.minSize ?? 0;
  for (const name of given) {
    const f = fieldOf(l, name);
    size = Math.max(size, f.offset + f.size);
  }
  const buf: Attr = Buffer.alloc(size);
  const keep: Buffer[] = [];
  for (const name of given) writeField(buf, fieldOf(l, name), name, values[name]!, keep);
  if (keep.length) buf.keep = keep;
  return buf;
}

function fieldOf<F extends string>(l: Layout<F>, name: F): Field {
  const f = l.fields[name];
  if (!f) throw new Error(`encode ${l.cType}: no field ${name}`);
  return f;
}

function writeField(buf: Buffer, f: Field, name: string, v: AttrValue, keep: Buffer[]): void {
  switch (f.type) {
    case 'u16':
      buf.writeUInt16LE(Number(v), f.offset);
      return;
    case 'u32':
      buf.writeUInt32LE(Number(v) >>> 0, f.offset);
      return;
    case 's32':
      buf.writeInt32LE(Number(v), f.offset);
      return;
    case 'u64':
      buf.writeBigUInt64LE(BigInt.asUintN(64, BigInt(v as number | bigint)), f.offset);
      return;
    case 'ptr':
      if (v === null || v === 0 || v === 0n) return;
      if (Buffer.isBuffer(v)) {
        keep.push(v);
        buf.writeBigUInt64LE(sys().address(v), f.offset);
      } else buf.writeBigUInt64LE(BigInt(v as number | bigint), f.offset);
      return;
    case 'bytes': {
      const bytes = typeof v === 'string' ? Buffer.from(v) : (v as Buffer);
      const room = typeof v === 'string' ? f.size - 1 : f.size;
      if (bytes.length > room) throw new Error(`encode ${name}: ${bytes.length} bytes do not fit in ${room}`);
      bytes.copy(buf, f.offset);
      return;
    }
    case 'bits': {
      let word = 0n;
      for (const [bit, on] of Object.entries(v as Record<string, boolean>)) {
        const n = f.bits?.[bit];
        if (n === undefined) throw new Error(`encode ${name}: no bitfield ${bit}`);
        if (on) word |= 1n << BigInt(n);
      }
      buf.writeBigUInt64LE(word, f.offset);
      return;
    }
  }
}

/** Read one field: u16/u32 as number, u64/ptr/bits as bigint, bytes as a copy. */
export function readField<F extends string>(l: Layout<F>, buf: Buffer, name: F): number | bigint | Buffer {
  const f = fieldOf(l, name);
  switch (f.type) {
    case 'u16':
      return buf.readUInt16LE(f.offset);
    case 'u32':
      return buf.readUInt32LE(f.offset);
    case 's32':
      return buf.readInt32LE(f.offset);
    case 'bytes':
      return Buffer.from(buf.subarray(f.offset, f.offset + f.size));
    default:
      return buf.readBigUInt64LE(f.offset);
  }
}

export const readU32 = <F extends string>(l: Layout<F>, buf: Buffer, name: F): number => readField(l, buf, name) as number;
export const readU64 = <F extends string>(l: Layout<F>, buf: Buffer, name: F): bigint => readField(l, buf, name) as bigint;

/** The length of a struct up to the end of its last field in this layout (what to offer as info_len). */
export function layoutEnd(l: Layout): number {
  return Math.max(...Object.values<Field>(l.fields).map((f) => f.offset + f.size));
}

/** Whether the kernel filled a field: it writes back only as many bytes as it knows (info_len). */
export function filled<F extends string>(l: Layout<F>, name: F, length: number): boolean {
  const f = fieldOf(l, name);
  return f.offset + f.size <= length;
}

/** A C string from a fixed char array: up to the first NUL. */
export function cString(bytes: Buffer): string {
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

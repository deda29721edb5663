// Loading a program (BPF_PROG_LOAD), reading what the kernel made of it (BPF_OBJ_GET_INFO_BY_FD), and
// running it on a test input (BPF_PROG_TEST_RUN).

import { release } from 'node:os';
import {
  AttachType,
  cString,
  Cmd,
  EnableStatsAttr,
  filled,
  ProgInfo,
  ProgLoadAttr,
  ProgTestRunAttr,
  ProgType,
  readField,
  StatsType,
  readU32,
  readU64,
  type AttachTypeName,
  type ProgTypeName,
} from './attr.js';
import { bpfCommand, bpfCommandRaw, checkObjectName, objectInfo, raiseMemlockOnce } from './command.js';
import { FdOwner } from './lifetime.js';
import { BpfError, errno, VerifierError } from './errors.js';
import { sys } from './syscall.js';

export interface ProgramSpec {
  /** Up to 15 characters of [A-Za-z0-9_.]: how `bpftool prog list` shows it. */
  name: string;
  type: ProgTypeName | number;
  /** struct bpf_insn bytes (a multiple of 8), or anything that encodes to them (the insn.ts builder). */
  insns: Buffer | { encode(): Buffer };
  /** "GPL" unless given: GPL-only helpers (bpf_probe_read, bpf_trace_printk, …) need a GPL-compatible license. */
  license?: string;
  /** 0: no log (the default); 1: the verifier's log; 2: every instruction's state; add 4 for statistics. */
  logLevel?: number;
  /** First size of the log buffer in bytes (64 KiB by default); it doubles on ENOSPC until the log fits. */
  logSize?: number;
  expectedAttachType?: AttachTypeName | number;
  /** LINUX_VERSION_CODE; only kprobe programs on kernels before 5.0 need it (filled from uname for them). */
  kernVersion?: number;
  /** BPF_F_* load flags. */
  flags?: number;
}

export interface ProgramInfo {
  type: number;
  typeName: string | undefined;
  id: number;
  /** The kernel's hash of the instructions, as `bpftool prog` shows it (hex). */
  tag: string;
  name: string;
  /** Bytes of JIT-compiled machine code (0 without a JIT). */
  jitedLength: number;
  /** Bytes of instructions after the verifier rewrote them. */
  xlatedLength: number;
  /** Nanoseconds since boot. */
  loadTime: bigint;
  createdByUid: number;
  mapIds: number[];
  /** Instructions the verifier walked (5.16+; undefined on older kernels). */
  verifiedInsns: number | undefined;
  /** Nanoseconds spent in the program and the runs counted, while run-time statistics are on (enableStats()). */
  runTimeNs: bigint;
  runCount: bigint;
}

export interface TestRunOptions {
  /** The packet (or input) the program runs on; socket filters need ≥ 14 bytes. Default: 64 zero bytes; empty: none. */
  data?: Buffer;
  /** Run this many times; duration is the mean. Default 1. */
  repeat?: number;
  /** Room for the output packet, in bytes (0: do not ask for it). */
  dataOutSize?: number;
  /** A context struct to pass instead of the default one (program types that allow it). */
  ctx?: Buffer;
}

export interface TestRunResult {
  /** r0 when the program exited (a u32). */
  retval: number;
  /** Mean nanoseconds per run. */
  duration: number;
  /** The output packet, when dataOutSize was given. */
  dataOut?: Buffer;
}

const DEFAULT_LOG_SIZE = 64 * 1024;
// The kernel refuses log buffers above UINT_MAX >> 2 (5.2+) and below 128 bytes.
const MAX_LOG_SIZE = 0xffffffff >>> 2;
const MIN_LOG_SIZE = 128;

/** Loads tried while the kernel says EAGAIN (libbpf: 5). */
const PROG_LOAD_ATTEMPTS = 5;

/** Load a program; a rejection throws VerifierError with the verifier's own words. */
export function loadProgram(spec: ProgramSpec): Program {
  const where = { program: spec.name };
  const bad = checkObjectName(spec.name);
  if (bad) throw BpfError.usage('prog_load', 'bad name', bad, where);
  const insns = Buffer.isBuffer(spec.insns) ? spec.insns : spec.insns.encode();
  if (insns.length === 0 || insns.length % 8 !== 0) {
    throw BpfError.usage('prog_load', 'bad instructions', `${insns.length} bytes is not a whole number of 8-byte instructions`, where);
  }
  const type = typeof spec.type === 'number' ? spec.type : ProgType[spec.type];
  if (type === undefined) throw BpfError.usage('prog_load', 'bad program type', `unknown type ${String(spec.type)}`, where);
  const attachType = typeof spec.expectedAttachType === 'string' ? AttachType[spec.expectedAttachType] : spec.expectedAttachType;
  const license = Buffer.from(`${spec.license ?? 'GPL'}\0`);
  const kernVersion = spec.kernVersion ?? (type === ProgType.kprobe ? linuxVersionCode(release()) : undefined);
  raiseMemlockOnce();

  const attempt = (logLevel: number, logSize: number) => {
    const logBuf = logLevel > 0 ? Buffer.alloc(logSize) : undefined;
    const call = () => bpfCommandRaw(Cmd.prog_load, ProgLoadAttr, {
      prog_type: type,
      insn_cnt: insns.length / 8,
      insns,
      license,
      ...(logBuf ? { log_level: logLevel, log_size: logSize, log_buf: logBuf } : {}),
      ...(kernVersion !== undefined ? { kern_version: kernVersion } : {}),
      ...(spec.flags ? { prog_flags: spec.flags } : {}),
      prog_name: spec.name,
      ...(attachType !== undefined ? { expected_attach_type: attachType } : {}),
    }).ret;
    // The verifier gives up with EAGAIN when a signal is pending (a profiler's SIGPROF did it here): try again,
    // up to 5 times, as libbpf's sys_bpf_prog_load() does.
    let ret = call();
    for (let tries = 1; ret === -errno.EAGAIN && tries < PROG_LOAD_ATTEMPTS; tries++) ret = call();
    return { ret, log: logBuf ? cString(logBuf) : '' };
  };

  // A log that does not fit gives ENOSPC (even for a good program on older kernels): double and retry.
  const load = (logLevel: number) => {
    let size = Math.min(Math.max(spec.logSize ?? DEFAULT_LOG_SIZE, MIN_LOG_SIZE), MAX_LOG_SIZE);
    for (;;) {
      const result = attempt(logLevel, size);
      if (result.ret !== -errno.ENOSPC || logLevel === 0 || size >= MAX_LOG_SIZE) return { ...result, size };
      size = Math.min(size * 2, MAX_LOG_SIZE);
    }
  };

  const logLevel = spec.logLevel ?? 0;
  let result = load(logLevel);
  // Asked for no log and got a rejection: load again with a log, only to say why (as cilium does).
  if (result.ret < 0 && logLevel === 0 && result.ret !== -errno.EPERM) {
    const retry = load(1);
    if (retry.ret < 0 && retry.log) result = retry;
    else if (retry.ret >= 0) sys().close(retry.ret);
  }
  if (result.ret < 0) {
    // EAGAIN is an interruption, not a verdict: its log is the verifier's first step, nothing to show
    if (result.log && result.ret !== -errno.EAGAIN) throw new VerifierError(spec.name, -result.ret, result.log);
    throw BpfError.fromErrno('prog_load', -result.ret, where);
  }
  return new Program(result.ret, spec.name, type, insns.length / 8, result.log);
}

/** KERNEL_VERSION(a, b, c) from a release string: "6.1.0-56-amd64" → 0x060100. */
export function linuxVersionCode(rel: string): number {
  const [a = 0, b = 0, c = 0] = rel.split(/[.-]/).map((p) => Number.parseInt(p, 10) || 0);
  return (a << 16) + (b << 8) + Math.min(c, 255);
}

export class Program extends FdOwner {
  constructor(
    fd: number,
    readonly name: string,
    readonly type: number,
    /** Instructions loaded (before the verifier rewrote them). */
    readonly insnCount: number,
    /** The verifier's log, when logLevel > 0 asked for it. */
    readonly log: string,
  ) {
    super(fd);
  }

  protected describe(): string {
    return `program "${this.name}"`;
  }

  /** Run the program on a test input (BPF_PROG_TEST_RUN) and read r0. */
  testRun(opts: TestRunOptions = {}): TestRunResult {
    const data = opts.data ?? Buffer.alloc(64);
    const dataOut = opts.dataOutSize ? Buffer.alloc(opts.dataOutSize) : undefined;
    const { attr } = bpfCommand(
      Cmd.prog_test_run,
      ProgTestRunAttr,
      {
        prog_fd: this.fd,
        // raw tracepoint programs refuse any data: an empty Buffer sends none
        ...(data.length > 0 ? { data_size_in: data.length, data_in: data } : {}),
        ...(dataOut ? { data_size_out: dataOut.length, data_out: dataOut } : {}),
        repeat: opts.repeat ?? 1,
        // Written back by the kernel: reading a field is using it, so the attribute reaches that far.
        duration: 0,
        ...(opts.ctx ? { ctx_size_in: opts.ctx.length, ctx_in: opts.ctx } : {}),
      },
      'prog_test_run',
      { program: this.name },
    );
    const result: TestRunResult = {
      retval: readU32(ProgTestRunAttr, attr, 'retval'),
      duration: readU32(ProgTestRunAttr, attr, 'duration'),
    };
    if (dataOut) result.dataOut = dataOut.subarray(0, readU32(ProgTestRunAttr, attr, 'data_size_out'));
    return result;
  }

  /** What the kernel knows about the program (BPF_OBJ_GET_INFO_BY_FD). */
  info(): ProgramInfo {
    const mapIds = Buffer.alloc(4 * 64);
    const { buf, length } = objectInfo(this.fd, ProgInfo, { program: this.name }, (b) => {
      b.writeUInt32LE(64, ProgInfo.fields.nr_map_ids.offset);
      b.writeBigUInt64LE(sys().address(mapIds), ProgInfo.fields.map_ids.offset);
    });
    const type = readU32(ProgInfo, buf, 'type');
    const nrMaps = Math.min(readU32(ProgInfo, buf, 'nr_map_ids'), 64);
    return {
      type,
      typeName: Object.entries(ProgType).find(([, n]) => n === type)?.[0],
      id: readU32(ProgInfo, buf, 'id'),
      tag: (readField(ProgInfo, buf, 'tag') as Buffer).toString('hex'),
      name: cString(readField(ProgInfo, buf, 'name') as Buffer),
      jitedLength: readU32(ProgInfo, buf, 'jited_prog_len'),
      xlatedLength: readU32(ProgInfo, buf, 'xlated_prog_len'),
      loadTime: readU64(ProgInfo, buf, 'load_time'),
      createdByUid: readU32(ProgInfo, buf, 'created_by_uid'),
      mapIds: Array.from({ length: nrMaps }, (_, i) => mapIds.readUInt32LE(4 * i)),
      verifiedInsns: filled(ProgInfo, 'verified_insns', length) ? readU32(ProgInfo, buf, 'verified_insns') : undefined,
      runTimeNs: filled(ProgInfo, 'run_cnt', length) ? readU64(ProgInfo, buf, 'run_time_ns') : 0n,
      runCount: filled(ProgInfo, 'run_cnt', length) ? readU64(ProgInfo, buf, 'run_cnt') : 0n,
    };
  }

  /** The instructions as the kernel runs them, after the verifier's rewrites (map fds become addresses). */
  xlated(): Buffer {
    const { xlatedLength } = this.info();
    const out = Buffer.alloc(xlatedLength);
    objectInfo(this.fd, ProgInfo, { program: this.name }, (b) => {
      b.writeUInt32LE(out.length, ProgInfo.fields.xlated_prog_len.offset);
      b.writeBigUInt64LE(sys().address(out), ProgInfo.fields.xlated_prog_insns.offset);
    });
    return out;
  }
}

/** While open, the kernel times every BPF program run (run_time_ns, run_cnt in its info and fdinfo). */
export class RunStats extends FdOwner {
  protected describe(): string {
    return 'run-time statistics';
  }
}

/**
 * BPF_ENABLE_STATS(BPF_STATS_RUN_TIME), 5.8+: the kernel's own per-program cost, counted until the returned
 * object is closed (the sysctl kernel.bpf_stats_enabled does the same machine-wide, and outlives a crash).
 * Timing costs ~20 ns per run itself, so it is on only while something measures.
 */
export function enableStats(): RunStats {
  const { ret } = bpfCommand(Cmd.enable_stats, EnableStatsAttr, { type: StatsType.run_time }, 'enable_stats');
  return new RunStats(ret);
}

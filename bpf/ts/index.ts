// The bpf() layer's public API, for notebooks and the `ts` variants:
//   import { createMap, u32, u64, loadProgram, attachTracepoint } from '../bpf/ts/index.js';

export { overrideSyscalls, sys, PAGE_SIZE, type Syscalls, type Watch } from './syscall.js';
export { BpfError, VerifierError, errnoName, type Operation, type ErrorSubject } from './errors.js';
export {
  AttachType,
  Cmd,
  MapType,
  ProgType,
  UpdateFlag,
  BPF_F_CURRENT_CPU,
  type AttachTypeName,
  type MapTypeName,
  type ProgTypeName,
  type UpdateFlagName,
} from './attr.js';
export { bytes, cstring, perCpu, s32, s64, struct, u8, u16, u32, u64, type Codec, type CodecValue, type StructCodec } from './codec.js';
export {
  BpfMap,
  createMap,
  createPerfEventArray,
  createRingBuffer,
  possibleCpus,
  type MapInfoResult,
  type MapSpec,
} from './map.js';
export {
  loadProgram,
  linuxVersionCode,
  Program,
  enableStats,
  RunStats,
  type ProgramInfo,
  type ProgramSpec,
  type TestRunOptions,
  type TestRunResult,
} from './prog.js';
export {
  attachKprobe,
  attachTracepoint,
  kprobePmu,
  Link,
  parseFormat,
  tracefsRoot,
  tracepointFormat,
  tracepointId,
  type KprobePmu,
  type TracepointField,
  type TracepointFormat,
} from './tracepoint.js';
// Lifetimes: close() (or Symbol.dispose) once, a scope for a cell or a check, a finalizer for what was dropped.
export { scope, withScope, Scope, KernelObject, FdOwner } from './lifetime.js';
export { openPerfBuffer, openRingBuffer, PerfBufferReader, RingBufferReader, type ReaderOptions } from './perf.js';
export {
  clearFeatureCache,
  feature,
  FEATURE_NAMES,
  gateFeature,
  kernelAtLeast,
  kernelInfo,
  probeFeature,
  type Feature,
  type FeatureName,
  type FeatureResult,
  type Gate,
  type KernelInfo,
} from './features.js';
// Instructions: the builder, the encoder and the verifier-style disassembler.
export { asm, assemble, decode, encode, Instruction, AsmError, Reg, R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, type Insn } from './insn.js';
export { disasm, disasmLines, printInsn, verifierLine, compareWithVerifierLog, parseVerifierLog } from './disasm.js';
export { HELPERS, helperId, helperName } from './helpers.js';
// The kernel's BTF: struct field offsets, as CO-RE finds them.
export { Btf } from './btf.js';

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

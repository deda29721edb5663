import t from 'tap';
import * as api from '../../../bpf/ts/index.js';

t.test('a notebook finds the whole layer in one import', async (t) => {
  for (const name of [
    'createMap',
    'createPerfEventArray',
    'createRingBuffer',
    'loadProgram',
    'attachTracepoint',
    'attachKprobe',
    'tracepointFormat',
    'openPerfBuffer',
    'openRingBuffer',
    'probeFeature',
    'kernelInfo',
    'BpfError',
    'VerifierError',
    'u32',
    'u64',
    'cstring',
    'struct',
    'overrideSyscalls',
    'scope',
    'withScope',
  ]) {
    t.ok(name in api, name);
  }
});

import t from 'tap';
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { FEATURE_NAMES, feature, kernelInfo, probeFeature } from '../../../bpf/ts/features.js';
import { createRingBuffer } from '../../../bpf/ts/map.js';
import { requireFeature, requireRoot, uniqueName } from '../../lib/kernel.js';

t.test('with privileges every probe gives a conclusive answer on this kernel', async (t) => {
  if (!requireRoot(t)) return;
  for (const name of FEATURE_NAMES) {
    const result = probeFeature(name);
    t.not(result.status, 'inconclusive', `${name}: ${JSON.stringify(result)}`);
    t.comment(`${feature(name).title}: ${result.status}${'reason' in result ? ` — ${result.reason}` : result.detail ? ` (${result.detail})` : ''}`);
  }
});

t.test('the kernel\'s release is uname -r', async (t) => {
  t.equal(kernelInfo().release, release());
  t.ok(kernelInfo().version[0] >= 3);
});

t.test('the ring buffer probe agrees with creating one', async (t) => {
  if (!requireFeature(t, 'ringbuf')) return;
  const rb = createRingBuffer(uniqueName('kf_probe'), 4096);
  t.equal(rb.info().typeName, 'ringbuf');
  rb.close();
});

t.test('the BTF and kprobe probes agree with sysfs', async (t) => {
  t.equal(probeFeature('btf').status === 'supported', existsSync('/sys/kernel/btf/vmlinux'));
  t.equal(probeFeature('kprobes').status === 'supported', existsSync('/sys/bus/event_source/devices/kprobe/type'));
});

t.test('the kernel headers probe agrees with what BCC would find', async (t) => {
  const build = existsSync(`/lib/modules/${release()}/build`);
  const ikheaders = existsSync('/sys/kernel/kheaders.tar.xz');
  const result = probeFeature('kernel_headers');
  if (build || ikheaders) t.equal(result.status, 'supported');
  else t.match(result, { status: 'unsupported', reason: `bcc: no kernel headers for ${release()} — install linux-headers-${release()} or boot a kernel with CONFIG_IKHEADERS` });
});

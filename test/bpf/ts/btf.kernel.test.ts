import t from 'tap';
import { readFileSync } from 'node:fs';
import { VMLINUX_BTF_PATH, vmlinuxBtfFromBpf } from '../../../bpf/ts/btf.js';
import { kernelAtLeast } from '../../../bpf/ts/features.js';
import { requireFeature, requireRoot } from '../../lib/kernel.js';

t.test('bpf() hands over the same BTF bytes as /sys/kernel/btf/vmlinux, in one copy (5.11+)', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'btf')) return;
  const fromBpf = vmlinuxBtfFromBpf();
  if (!kernelAtLeast(5, 11)) return t.equal(fromBpf, undefined, 'before 5.11 vmlinux BTF has no id: the file is read');
  t.ok(fromBpf, 'vmlinux BTF found by id');
  t.ok(fromBpf!.equals(readFileSync(VMLINUX_BTF_PATH)), 'byte for byte the sysfs file');
});

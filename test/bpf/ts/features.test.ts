import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cmd } from '../../../bpf/ts/attr.js';
import {
  effectiveCaps,
  FEATURE_NAMES,
  FEATURES,
  feature,
  gateFeature,
  kernelAtLeast,
  kernelHeadersResult,
  parseKernel,
  privilegeResult,
  jitResult,
  unprivilegedResult,
  probeFeature,
} from '../../../bpf/ts/features.js';
import { E, fakeSyscalls } from '../../lib/fake-syscalls.js';

const BOOKWORM =
  'Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.158-1 (2025-11-09)\n';
const TRIXIE =
  'Linux version 6.12.57+deb13-amd64 (debian-kernel@lists.debian.org) (x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0, GNU ld (GNU Binutils for Debian) 2.44) #1 SMP PREEMPT_DYNAMIC Debian 6.12.57-1 (2025-11-05)\n';
const CUSTOM = 'Linux version 6.18.44-fc-v669 (builder@sandboxing) (gcc (GCC) 15.3.0, GNU ld (GNU Binutils) 2.46) #1 SMP PREEMPT_DYNAMIC @0\n';

t.test('the Debian version comes from the build line, not from the compiler\'s version', async (t) => {
  t.same(parseKernel('6.1.0-56-amd64', BOOKWORM), { release: '6.1.0-56-amd64', version: [6, 1, 0], debian: '6.1.158-1' });
  t.same(parseKernel('6.12.57+deb13-amd64', TRIXIE), { release: '6.12.57+deb13-amd64', version: [6, 12, 57], debian: '6.12.57-1' });
  t.same(parseKernel('6.18.44-fc-v669', CUSTOM), { release: '6.18.44-fc-v669', version: [6, 18, 44], debian: undefined });
});

t.test('kernel versions compare by major, then minor', async (t) => {
  const k = parseKernel('5.10.0-32-amd64', '');
  t.ok(kernelAtLeast(5, 8, k));
  t.ok(kernelAtLeast(5, 10, k));
  t.notOk(kernelAtLeast(5, 11, k));
  t.notOk(kernelAtLeast(6, 0, k));
  t.ok(kernelAtLeast(4, 20, k));
});

t.test('privileges come from CapEff: CAP_BPF+CAP_PERFMON, or CAP_SYS_ADMIN', async (t) => {
  t.equal(effectiveCaps('Name:\tnode\nCapEff:\t000001fffeffffff\n'), 0x1fffeffffffn);
  t.same(privilegeResult(0x1fffeffffffn), { status: 'supported', detail: 'CAP_BPF and CAP_PERFMON' });
  t.same(privilegeResult(1n << 21n), { status: 'supported', detail: 'CAP_SYS_ADMIN' });
  t.same(privilegeResult(0n), {
    status: 'unsupported',
    reason: 'not root: no CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN) — run as root or grant CAP_BPF+CAP_PERFMON',
  });
  t.match(privilegeResult(1n << 39n), { status: 'unsupported', reason: /no CAP_PERFMON/ });
});

t.test('BCC\'s kernel headers: the build tree, kheaders.tar.xz, or the kheaders module — or a reason with the fix', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'headers-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  t.same(kernelHeadersResult('6.18.44', root), {
    status: 'unsupported',
    reason: 'bcc: no kernel headers for 6.18.44 — install linux-headers-6.18.44 or boot a kernel with CONFIG_IKHEADERS',
  });
  mkdirSync(join(root, 'usr/lib/modules/6.12.1/kernel/kernel'), { recursive: true });
  writeFileSync(join(root, 'usr/lib/modules/6.12.1/kernel/kernel/kheaders.ko.xz'), '');
  t.match(kernelHeadersResult('6.12.1', root), { status: 'supported', detail: /kheaders\.ko\.xz \(BCC loads it\)/ });
  mkdirSync(join(root, 'sys/kernel'), { recursive: true });
  writeFileSync(join(root, 'sys/kernel/kheaders.tar.xz'), '');
  t.match(kernelHeadersResult('6.18.44', root), { status: 'supported', detail: /kheaders\.tar\.xz$/ });
  mkdirSync(join(root, 'lib/modules/6.1.0-56-amd64/build/include'), { recursive: true });
  t.match(kernelHeadersResult('6.1.0-56-amd64', root), { status: 'supported', detail: /build$/ });
});

t.test('a missing feature skips on a kernel older than it, and fails on one new enough', async (t) => {
  const no = { status: 'unsupported', reason: 'map create: EINVAL' } as const;
  t.same(gateFeature('ringbuf', no, parseKernel('5.4.0', ''), true), {
    action: 'skip',
    reason: 'requires kernel ≥ 5.8: no BPF ring buffer on 5.4.0',
  });
  t.same(gateFeature('ringbuf', no, parseKernel('6.1.0-56-amd64', ''), true), {
    action: 'fail',
    reason: 'kernel 6.1.0-56-amd64 is ≥ 5.8 but has no BPF ring buffer: map create: EINVAL',
  });
  t.same(gateFeature('ringbuf', { status: 'supported' }, parseKernel('6.1.0', ''), true), { action: 'run' });
});

t.test('a feature decided by the kernel\'s build options only ever skips', async (t) => {
  const reason = 'no kprobes: the kernel has no kprobe PMU';
  t.same(gateFeature('kprobes', { status: 'unsupported', reason }, parseKernel('7.2.0', ''), true), { action: 'skip', reason });
});

t.test('an inconclusive probe skips without privileges and fails with them', async (t) => {
  const unsure = { status: 'inconclusive', reason: 'not permitted to create maps (EPERM)' } as const;
  t.same(gateFeature('ringbuf', unsure, parseKernel('6.1.0', ''), false), { action: 'skip', reason: 'BPF ring buffer: not permitted to create maps (EPERM)' });
  t.match(gateFeature('ringbuf', unsure, parseKernel('6.1.0', ''), true), { action: 'fail' });
});

t.test('every feature has a title, and probes answer once per process', async (t) => {
  for (const name of FEATURE_NAMES) t.ok(feature(name).title, name);
  t.equal(feature('ringbuf').minKernel?.join('.'), '5.8');
  t.equal(probeFeature('kernel_headers'), probeFeature('kernel_headers'), 'the same cached answer');
});

t.test('a map probe the kernel answers with E2BIG (an attribute field it does not know) is unsupported', async (t) => {
  let answer = -E.E2BIG;
  const fake = fakeSyscalls(t, { bpf: () => answer });
  t.same(FEATURES.ringbuf.probe(), { status: 'unsupported', reason: 'the kernel does not know ring buffers (map create: E2BIG)' });
  t.equal(fake.bpf[0]!.cmd, Cmd.map_create);
  answer = -E.EINVAL;
  t.same(FEATURES.perf_event_array.probe(), { status: 'unsupported', reason: 'the kernel does not know perf event arrays (map create: EINVAL)' });
  answer = -E.ENOMEM;
  t.same(FEATURES.bpf.probe(), { status: 'inconclusive', reason: 'map create for array maps failed with ENOMEM' });
});

t.test('the JIT and unprivileged-bpf answers say how to change them', async (t) => {
  t.same(jitResult('1\n'), { status: 'supported', detail: 'bpf_jit_enable = 1' });
  t.match(jitResult('0\n'), { status: 'unsupported', reason: /interpreter: sysctl net\.core\.bpf_jit_enable=1/ });
  t.match(jitResult(undefined), { status: 'unsupported', reason: /CONFIG_BPF_JIT/ });
  t.match(unprivilegedResult('0\n'), { status: 'supported' });
  t.match(unprivilegedResult('2\n'), { status: 'unsupported', reason: /sysctl kernel\.unprivileged_bpf_disabled=0/ });
  t.match(unprivilegedResult('1\n'), { status: 'unsupported', reason: /until reboot/ });
});

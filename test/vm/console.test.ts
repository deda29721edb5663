import t from 'tap';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allowedSplats, consoleCrash, emulationSuspect, splatAllowList, watchConsole } from '../../vm/console.js';

const fixture = (name: string) => readFile(join(import.meta.dirname, 'fixtures', name), 'utf8');

t.test('a soft lockup seen on a 6.1 guest under TCG: the kind, the process, the instruction, the frames', async (t) => {
  const crash = consoleCrash(await fixture('soft-lockup-6.1.console.log'));
  t.equal(crash?.kind, 'soft lockup');
  t.same(crash?.excerpt, [
    'watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [node:180]',
    'CPU: 0 PID: 180 Comm: node Not tainted 6.1.0-50-amd64 #1  Debian 6.1.176-1',
    'RIP: 0010:syscall_trace_enter.constprop.0+0xd8/0x190',
    '  do_syscall_64+0x3e/0xb0', // the "? frame" guesses and the registers are left out
    '  entry_SYSCALL_64_after_hwframe+0x6e/0xd8',
  ]);
});

t.test('an int3 oops seen on a 7.2 guest under TCG while tracers attached: suspected to be the emulation, as a lockup is', async (t) => {
  const crash = consoleCrash(await fixture('oops-int3-7.2.console.log'));
  t.equal(crash?.kind, 'oops');
  t.equal(crash?.excerpt[0], 'Oops: int3: 0000 [#1] SMP NOPTI');
  t.match(crash?.excerpt.join('\n'), /RIP: 0010:trace_syscall_enter\+0xd\/0xb0/);
  const tcg = { racyTcg: true };
  t.equal(emulationSuspect({ ...crash!, ...tcg }), true);
  t.equal(emulationSuspect({ kind: 'soft lockup', excerpt: ['watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [node:180]'], ...tcg }), true);
  t.equal(emulationSuspect({ kind: 'oops', excerpt: ['BUG: kernel NULL pointer dereference, address: 0000000000000008'], ...tcg }), false, 'a NULL dereference is the code\'s');
  t.equal(emulationSuspect({ kind: 'panic', excerpt: ['Kernel panic - not syncing: sysrq triggered crash'], ...tcg }), false);
  t.equal(emulationSuspect({ ...crash!, racyTcg: false }), false, 'without the race (a fixed QEMU, one TCG thread, KVM) an int3 is the kernel\'s');
});

t.test('the first sign wins, and a healthy boot has none', async (t) => {
  const boot = ['[    0.000000] rcu: Preemptible hierarchical RCU implementation.', '[    2.1] watchdog: Enabled. Permanently consumes one hw-PMU counter.', 'lab-init: [4.81] setup done'];
  t.equal(consoleCrash(boot.join('\n')), undefined, 'RCU and watchdog lines of a normal boot');
  const oops = [...boot, '[   9.5] BUG: kernel NULL pointer dereference, address: 0000000000000000', '[   9.6] Oops: 0000 [#1] PREEMPT SMP NOPTI', '[   9.7] Kernel panic - not syncing: Fatal exception'];
  t.equal(consoleCrash(oops.join('\n'))?.kind, 'oops');
  t.same(consoleCrash(oops.join('\n'))?.excerpt, ['BUG: kernel NULL pointer dereference, address: 0000000000000000', 'Kernel panic - not syncing: Fatal exception']);
  t.equal(consoleCrash('[ 30.1] rcu: INFO: rcu_preempt self-detected stall on CPU')?.kind, 'rcu stall');
  t.equal(consoleCrash('[ 242.0] INFO: task node:181 blocked for more than 120 seconds.')?.kind, 'hung task');
  t.equal(consoleCrash('[ 3.0] Kernel panic - not syncing: sysrq triggered crash')?.kind, 'panic');
});

t.test('watchConsole sees a crash written after it started, once, and stops', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'console-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'c.log');
  await writeFile(file, 'lab-init: [4.81] setup done\n');
  const seen: string[] = [];
  const stop = watchConsole(file, (c) => seen.push(c.kind), 20);
  t.teardown(stop);
  await new Promise((r) => setTimeout(r, 60));
  t.same(seen, [], 'nothing yet');
  // Split across two writes, as QEMU may flush a line in pieces.
  await appendFile(file, '[ 148.5] watchdog: BUG: soft lo');
  await appendFile(file, 'ckup - CPU#0 stuck for 26s! [node:180]\n[ 148.6] Kernel panic - not syncing: softlockup: hung tasks\n');
  for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 60));
  t.same(seen, ['soft lockup'], 'called once, with the first sign');
});

t.test('a sysrq crash reads as a panic, with the panic line first', async (t) => {
  const log = [
    '[    3.100000] lab-init: [3.10] setup done',
    '[    9.000000] sysrq: Trigger a crash',
    '[    9.000100] Kernel panic - not syncing: sysrq triggered crash',
    '[    9.000200] CPU: 0 PID: 250 Comm: node Not tainted 6.1.0-50-amd64 #1  Debian 6.1.123-1',
    '[    9.000300] Call Trace:',
    '[    9.000400]  <TASK>',
    '[    9.000500]  dump_stack_lvl+0x44/0x5c',
    '[    9.000550]  </TASK>',
    '[    9.000600] Kernel Offset: disabled',
  ].join('\n');
  t.same(consoleCrash(log), { kind: 'panic', excerpt: ['Kernel panic - not syncing: sysrq triggered crash', 'CPU: 0 PID: 250 Comm: node Not tainted 6.1.0-50-amd64 #1  Debian 6.1.123-1', '  dump_stack_lvl+0x44/0x5c'] });
});

// A WARNING as __warn() prints it (6.1, kernel/bpf/verifier.c is only an example of where one comes from).
const WARNING = [
  '[   12.000000] ------------[ cut here ]------------',
  '[   12.000100] WARNING: CPU: 1 PID: 321 at kernel/bpf/verifier.c:1234 check_helper_call+0x1f/0x900',
  '[   12.000200] Modules linked in: 9p overlay',
  '[   12.000300] CPU: 1 PID: 321 Comm: execsnoop Not tainted 6.1.0-50-amd64 #1  Debian 6.1.176-1',
  '[   12.000400] RIP: 0010:check_helper_call+0x1f/0x900',
  '[   12.000500] Call Trace:',
  '[   12.000600]  <TASK>',
  '[   12.000700]  do_check_common+0x2a/0x100',
  '[   12.000800]  </TASK>',
  '[   12.000900] ---[ end trace 0000000000000000 ]---',
].join('\n');

t.test('a WARNING splat and the other BUG reports count, with the place and the frames', async (t) => {
  t.same(consoleCrash(WARNING), {
    kind: 'warning',
    excerpt: [
      'WARNING: CPU: 1 PID: 321 at kernel/bpf/verifier.c:1234 check_helper_call+0x1f/0x900',
      'CPU: 1 PID: 321 Comm: execsnoop Not tainted 6.1.0-50-amd64 #1  Debian 6.1.176-1',
      'RIP: 0010:check_helper_call+0x1f/0x900',
      '  do_check_common+0x2a/0x100',
    ],
  });
  t.equal(consoleCrash('[ 5.0] BUG: sleeping function called from invalid context at mm/slab.h:123')?.kind, 'bug');
  t.equal(consoleCrash('[ 5.0] UBSAN: shift-out-of-bounds in kernel/x.c:1:2')?.kind, 'bug');
  t.equal(consoleCrash('[ 5.0] BUG: kernel NULL pointer dereference, address: 0000000000000000')?.kind, 'oops', 'an oops stays an oops');
  t.equal(consoleCrash('[ 5.0] lab-init: WARNING: not at the start of the line\n[ 6.0] x86/cpu: SGX disabled by BIOS.'), undefined);
});

t.test('an allow-list entry lets its splat pass, says why, and stops at its kernels and its expiry', async (t) => {
  const entry = { pattern: /check_helper_call/, kernels: ['6.1'], reason: 'a test\'s own splat' };
  t.equal(consoleCrash(WARNING, [entry]), undefined, 'allowed');
  t.same(allowedSplats(WARNING, [entry]), [{ line: 'WARNING: CPU: 1 PID: 321 at kernel/bpf/verifier.c:1234 check_helper_call+0x1f/0x900', reason: 'a test\'s own splat' }]);
  t.equal(consoleCrash(`${WARNING}\n[ 13.0] WARNING: CPU: 0 PID: 1 at mm/other.c:1 other+0x0/0x1`, [entry])?.excerpt[0], 'WARNING: CPU: 0 PID: 1 at mm/other.c:1 other+0x0/0x1', 'another splat still counts');

  const dir = await mkdtemp(join(tmpdir(), 'splat-allow-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'allow.json');
  const env = process.env.LAB_SPLAT_ALLOW;
  t.teardown(() => (env === undefined ? delete process.env.LAB_SPLAT_ALLOW : (process.env.LAB_SPLAT_ALLOW = env)));
  process.env.LAB_SPLAT_ALLOW = file;
  await writeFile(file, JSON.stringify([
    { pattern: 'check_helper_call', kernels: ['6.1'], reason: 'on 6.1 only' },
    { pattern: 'other', reason: 'everywhere, until the end of 2026', expires: '2026-12-31' },
  ]));
  t.same(splatAllowList('6.1', '2026-12-07').map((e) => e.reason), ['on 6.1 only', 'everywhere, until the end of 2026']);
  t.same(splatAllowList('7.2', '2026-12-07').map((e) => e.reason), ['everywhere, until the end of 2026'], 'not for another kernel');
  t.same(splatAllowList('7.2', '2027-01-01').map((e) => e.reason), [], 'expired: allows nothing');
  await writeFile(file, JSON.stringify([{ pattern: 'x' }]));
  t.throws(() => splatAllowList('6.1'), /LAB_SPLAT_ALLOW=.*entry 1 needs a "pattern" and a "reason"/);
  await writeFile(file, '{ not json');
  t.throws(() => splatAllowList('6.1'), /LAB_SPLAT_ALLOW=/);
});

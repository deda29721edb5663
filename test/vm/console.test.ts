import t from 'tap';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consoleCrash, emulationSuspect, watchConsole } from '../../vm/console.js';

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
  t.equal(emulationSuspect(crash!.kind, crash!.excerpt), true);
  t.equal(emulationSuspect('soft lockup', ['watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [node:180]']), true);
  t.equal(emulationSuspect('oops', ['BUG: kernel NULL pointer dereference, address: 0000000000000008']), false, 'a NULL dereference is the code\'s');
  t.equal(emulationSuspect('panic', ['Kernel panic - not syncing: sysrq triggered crash']), false);
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

import t from 'tap';
import { Capped, kernelTrouble, parseResults, RESULT_TAG } from '../../../harness/grade/vm.js';

t.test('only lines carrying the nonce are results; the student\'s own output is ignored', async (t) => {
  const r = { check: 'a', name: 'A', points: 1, max: 1, status: 'pass', feedback: 'ok', hidden: false };
  const forged = { ...r, check: 'b', points: 100 };
  const out = [`${RESULT_TAG} wrong ${JSON.stringify(forged)}`, 'noise', `${RESULT_TAG} n1 ${JSON.stringify(r)}`, `${RESULT_TAG} n1 done`].join('\n');
  t.same(parseResults(out, 'n1'), { results: [r], done: true });
  t.same(parseResults('', 'n1'), { results: [], done: false });
});

t.test('the console\'s first lines of a crash become feedback; a clean console gives none', async (t) => {
  const log = [
    '[    3.100000] lab-init: [3.10] setup done',
    '[    9.000000] sysrq: Trigger a crash',
    '[    9.000100] Kernel panic - not syncing: sysrq triggered crash',
    '[    9.000200] CPU: 0 PID: 250 Comm: node Not tainted 6.1.0-50-amd64 #1  Debian 6.1.123-1',
    '[    9.000300] Call Trace:',
    '[    9.000400]  <TASK>',
    '[    9.000500]  dump_stack_lvl+0x44/0x5c',
    '[    9.000600] Kernel Offset: disabled',
  ].join('\n');
  t.same(kernelTrouble(log, 3), ['sysrq: Trigger a crash', 'Kernel panic - not syncing: sysrq triggered crash', 'Kernel Offset: disabled']);
  t.equal(kernelTrouble('[ 1.0] lab-init: modules loaded\n'), undefined);
  t.same(kernelTrouble('[ 22.5] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [node:300]\n'), ['watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [node:300]']);
});

t.test('a capped stream keeps the first bytes and swallows the rest', async (t) => {
  const c = new Capped(5);
  c.write(Buffer.from('abc'));
  c.write(Buffer.from('defgh'));
  c.write(Buffer.from('ijk'));
  await new Promise((r) => c.end(r));
  t.equal(c.text(), 'abcde');
});

// The sandbox on this machine (no cgroup outside a grading VM): time limit, output cap, leftovers killed.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { abnormalEnd, runSandboxed } from '../../../harness/grade/sandbox.js';

const limits = { timeoutMs: 1500, maxOutput: 64 * 1024, pidsMax: 64, memoryMb: 256 };
/** Running (a zombie waiting for a reaper counts as dead). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

t.test('a command that ends is reported as it ended', async (t) => {
  const r = await runSandboxed('/bin/sh', ['-c', 'echo out; echo err >&2; exit 3'], { cwd: '/tmp', limits });
  t.same([r.exitCode, r.stdout, r.stderr, r.timedOut, r.flooded], [3, 'out\n', 'err\n', false, false]);
  t.equal(abnormalEnd(r, limits), undefined);
});

t.test('a hang is stopped at the time limit, with what it left running', async (t) => {
  const r = await runSandboxed('/bin/sh', ['-c', 'sleep 100 & echo $!; wait'], { cwd: '/tmp', limits });
  t.ok(r.timedOut);
  t.match(abnormalEnd(r, limits), /did not finish within 1.5 s/);
  const child = Number(r.stdout.trim());
  await new Promise((res) => setTimeout(res, 100));
  t.notOk(alive(child), 'the background sleep died with its group');
});

t.test('an output flood is stopped at the cap and not stored beyond it', async (t) => {
  const r = await runSandboxed('/bin/sh', ['-c', 'yes flood'], { cwd: '/tmp', limits });
  t.ok(r.flooded);
  t.ok(r.stdout.length <= limits.maxOutput);
  t.match(abnormalEnd(r, limits), /^output flood: more than 64 KiB/);
});

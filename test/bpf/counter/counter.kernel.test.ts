import t from 'tap';
import { execa } from 'execa';
import { ExecCounter } from '../../../bpf/counter/counter.js';
import { goneFromKernel, loadedNames, requireFeature, requireRoot } from '../../lib/kernel.js';

const CHILDREN = 50;

t.test('50 children that exec /bin/true are each counted exactly once, and the total grows by at least 50', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs')) return;
  const counter = ExecCounter.open();
  t.teardown(() => counter.close());
  const pids: number[] = [];
  await Promise.all(
    Array.from({ length: CHILDREN }, async () => {
      const child = execa('/bin/true', { reject: false, timeout: 20_000 });
      pids.push(child.pid!);
      t.equal((await child).exitCode, 0);
    }),
  );
  const perPid = counter.perPid();
  t.same(pids.map((p) => perPid.get(p)), Array(CHILDREN).fill(1), 'each child pid counted once');
  t.ok(counter.total() >= CHILDREN, `total ${counter.total()} ≥ ${CHILDREN}`);
});

t.test('nothing of the counter stays loaded after close()', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs')) return;
  const counter = ExecCounter.open();
  t.ok((await loadedNames('prog')).includes('counter_execve'), 'loaded while open');
  counter.close();
  // the kernel frees a closed program, and then its maps, a moment later
  t.ok(await goneFromKernel('prog', 'counter_execve'), 'program gone');
  t.ok(await goneFromKernel('map', 'counter_total'), 'total map gone');
  t.ok(await goneFromKernel('map', 'counter_per_pid'), 'per-pid map gone');
});

import t from 'tap';
import { execa } from 'execa';
import { Execsnoop, MAX_ARGS, ARGSIZE, type ExecsnoopEvent } from '../../../bpf/execsnoop/execsnoop.js';
import { goneFromKernel, loadedNames, requireFeature, requireRoot } from '../../lib/kernel.js';

/** Runs argv, then waits until the tool has reported `n` execs of that pid (or 2 s). */
async function traced(events: ExecsnoopEvent[], file: string, args: string[], n = 1): Promise<{ pid: number; seen: ExecsnoopEvent[] }> {
  const child = execa(file, args, { reject: false, timeout: 10_000, stdio: 'ignore' });
  const pid = child.pid!;
  await child;
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline && events.filter((e) => e.pid === pid).length < n) await new Promise((r) => setTimeout(r, 20));
  return { pid, seen: events.filter((e) => e.pid === pid) };
}

for (const output of ['ringbuf', 'perf'] as const) {
  t.test(`through a ${output === 'ringbuf' ? 'ring buffer' : 'perf event array'}, every exec arrives with pid, ppid, comm, ret and capped arguments`, async (t) => {
    if (!requireRoot(t) || !requireFeature(t, 'tracefs') || !requireFeature(t, 'btf')) return;
    if (output === 'ringbuf' && !requireFeature(t, 'ringbuf')) return;
    const events: ExecsnoopEvent[] = [];
    const tool = Execsnoop.open({ output, onEvent: (e) => events.push(e) });
    t.teardown(() => tool.close());
    t.equal(tool.layout.output, output);

    const plain = await traced(events, '/bin/true', ['two words', '']);
    t.equal(plain.seen.length, 1, 'one event per exec');
    t.match(plain.seen[0], { pid: plain.pid, ppid: process.pid, ret: 0, comm: 'node', args: ['/bin/true', 'two words', ''], dropped: false });

    const many = await traced(events, '/bin/true', Array.from({ length: 30 }, (_, i) => `a${i}`));
    t.equal(many.seen[0].args.length, MAX_ARGS, `${MAX_ARGS} arguments kept`);
    t.equal(many.seen[0].dropped, true, 'the rest marked dropped');

    const long = await traced(events, '/bin/true', ['L'.repeat(300)]);
    t.equal(long.seen[0].args[1], 'L'.repeat(ARGSIZE - 1) + '...', 'a long argument is cut and marked');

    // a shell execs the missing file, so the failed exec has a pid we know (Node gives none for a failed spawn)
    const missing = await traced(events, '/bin/sh', ['-c', 'exec "$0"', '/nonexistent/execsnoop-test'], 2);
    t.match(missing.seen[1], { ret: -2, comm: 'sh', args: ['/nonexistent/execsnoop-test'] }, 'a failed exec reports -ENOENT');
  });
}

t.test('closing the tool removes its programs and maps from the kernel', async (t) => {
  if (!requireRoot(t) || !requireFeature(t, 'tracefs') || !requireFeature(t, 'btf')) return;
  const tool = Execsnoop.open({ onEvent: () => {} });
  const progs = await loadedNames('prog');
  t.ok(progs.includes('execsnoop_enter') && progs.includes('execsnoop_exit'), 'both programs loaded while open');
  tool.close();
  // the kernel frees a closed program, and then its maps, a moment later
  for (const p of ['execsnoop_enter', 'execsnoop_exit']) t.ok(await goneFromKernel('prog', p), `${p} gone`);
  for (const m of ['execsnoop_heap', 'execsnoop_execs', 'execsnoop_rb']) t.ok(await goneFromKernel('map', m), `${m} gone`);
});

import t from 'tap';
import { cpus } from 'node:os';
import { execa } from 'execa';
import { createPerfEventArray, createRingBuffer } from '../../../bpf/ts/map.js';
import { PerfBufferReader, RingBufferReader } from '../../../bpf/ts/perf.js';
import { loadProgram } from '../../../bpf/ts/prog.js';
import { attachTracepoint } from '../../../bpf/ts/tracepoint.js';
import { goneFromKernel, requireFeature, uniqueName } from '../../lib/kernel.js';
import { perfOutput, perfOutputPidTgid, ringbufOutput, SAMPLE } from '../../lib/programs.js';

type T = Parameters<typeof requireFeature>[0] & { teardown(fn: () => void): void };

/** A perf event array, a socket filter that sends SAMPLE to it, and a reader over `pages` pages per CPU. */
function perfSetup(t: T, opts: { pages?: number; watch?: boolean; onSample?: (s: Buffer, cpu: number | undefined) => void } = {}) {
  const name = uniqueName('kf_perf');
  const events = createPerfEventArray(name);
  t.teardown(() => events.close());
  const samples: Buffer[] = [];
  const reader = PerfBufferReader.open(events, { onSample: opts.onSample ?? ((s) => samples.push(s)), pages: opts.pages ?? 8, watch: opts.watch ?? false });
  t.teardown(() => reader.close());
  const prog = loadProgram({ name, type: 'socket_filter', insns: perfOutput(events.fd) });
  t.teardown(() => prog.close());
  return { name, events, reader, prog, samples };
}

function ringSetup(t: T, opts: { size?: number; watch?: boolean; onSample?: (s: Buffer) => void } = {}) {
  const name = uniqueName('kf_ring');
  const ring = createRingBuffer(name, opts.size ?? 4096);
  t.teardown(() => ring.close());
  const samples: Buffer[] = [];
  const reader = RingBufferReader.open(ring, { onSample: opts.onSample ?? ((s) => samples.push(s)), watch: opts.watch ?? false });
  t.teardown(() => reader.close());
  const prog = loadProgram({ name, type: 'socket_filter', insns: ringbufOutput(ring.fd) });
  t.teardown(() => prog.close());
  return { name, ring, reader, prog, samples };
}

const within = <V>(ms: number, what: string, p: Promise<V>): Promise<V> =>
  Promise.race([p, new Promise<V>((_, reject) => setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms))]);

t.test('a perf event array reader gets the exact sample a program sent', async (t) => {
  if (!requireFeature(t, 'perf_event_array')) return;
  const { reader, prog, samples } = perfSetup(t);
  t.equal(prog.testRun().retval, 0);
  t.equal(reader.poll(), 1);
  t.same(samples, [SAMPLE], '12 bytes: u64 0x11223344, u32 0x55667788');
  t.equal(reader.lost, 0);
});

t.test('records that wrap around the end of a perf ring come out whole', async (t) => {
  if (!requireFeature(t, 'perf_event_array')) return;
  // One 4096-byte page and 24-byte records: 24 does not divide 4096, so some records (the 171st, the
  // 342nd) start in the last 16 bytes and finish at the beginning.
  const { reader, prog, samples } = perfSetup(t, { pages: 1 });
  for (let round = 0; round < 50; round++) {
    prog.testRun({ repeat: 10 });
    reader.poll();
  }
  t.equal(samples.length, 500);
  t.ok(samples.every((s) => s.equals(SAMPLE)), 'every sample intact');
  t.equal(reader.lost, 0);
});

t.test('a full perf ring reports what it dropped, and samples + lost add up', async (t) => {
  if (!requireFeature(t, 'perf_event_array')) return;
  const { reader, prog } = perfSetup(t, { pages: 1 });
  prog.testRun({ repeat: 1000 });
  reader.poll();
  // The kernel writes the LOST record once there is room again: with the next sample.
  prog.testRun();
  reader.poll();
  t.ok(reader.lost > 0, `${reader.lost} lost`);
  t.equal(reader.samples + reader.lost, 1001);
});

t.test('perf samples arrive through epoll, without calling poll()', async (t) => {
  if (!requireFeature(t, 'perf_event_array')) return;
  let resolve!: (s: Buffer) => void;
  const first = new Promise<Buffer>((r) => (resolve = r));
  const { prog } = perfSetup(t, { watch: true, onSample: (s) => resolve(s) });
  prog.testRun();
  t.same(await within(2000, 'perf sample', first), SAMPLE);
});

t.test('a tracepoint program\'s samples reach the ring of the CPU it ran on', async (t) => {
  if (!requireFeature(t, 'perf_event_array') || !requireFeature(t, 'tracefs')) return;
  const name = uniqueName('kf_exec');
  const events = createPerfEventArray(name);
  t.teardown(() => events.close());
  const seen: { tgid: number; cpu: number | undefined }[] = [];
  const reader = PerfBufferReader.open(events, { onSample: (s, cpu) => seen.push({ tgid: Number(s.readBigUInt64LE(0) >> 32n), cpu }), watch: false });
  t.teardown(() => reader.close());
  const prog = loadProgram({ name, type: 'tracepoint', insns: perfOutputPidTgid(events.fd) });
  t.teardown(() => prog.close());
  const link = attachTracepoint(prog, 'syscalls', 'sys_enter_execve');
  t.teardown(() => link.close());
  for (let cpu = 0; cpu < cpus().length; cpu++) {
    const sub = execa('/usr/bin/taskset', ['-c', String(cpu), '/bin/true'], { reject: false, timeout: 10_000, cleanup: true });
    const pid = sub.pid!;
    await sub;
    reader.poll();
    // The second execve (taskset → /bin/true) runs pinned to `cpu`.
    t.ok(seen.some((s) => s.tgid === pid && s.cpu === cpu), `the exec pinned to CPU ${cpu} arrived in CPU ${cpu}'s ring`);
  }
});

t.test('a ring buffer reader gets the exact samples, in order', async (t) => {
  if (!requireFeature(t, 'ringbuf')) return;
  const { reader, prog, samples } = ringSetup(t);
  prog.testRun({ repeat: 5 });
  t.equal(reader.poll(), 5);
  t.same(samples, Array.from({ length: 5 }, () => SAMPLE));
});

t.test('a ring buffer wraps around: 24-byte records through a 4096-byte ring, drained as they come', async (t) => {
  if (!requireFeature(t, 'ringbuf')) return;
  const { reader, prog, samples } = ringSetup(t);
  for (let round = 0; round < 50; round++) {
    prog.testRun({ repeat: 10 });
    reader.poll();
  }
  t.equal(samples.length, 500);
  t.ok(samples.every((s) => s.equals(SAMPLE)));
});

t.test('ring buffer samples arrive through epoll, without calling poll()', async (t) => {
  if (!requireFeature(t, 'ringbuf')) return;
  let resolve!: (s: Buffer) => void;
  const first = new Promise<Buffer>((r) => (resolve = r));
  const { prog } = ringSetup(t, { watch: true, onSample: (s) => resolve(s) });
  setTimeout(() => prog.testRun(), 10);
  t.same(await within(2000, 'ring buffer sample', first), SAMPLE);
});

t.test('nothing is left in the kernel once the readers, programs and maps are closed', async (t) => {
  if (!requireFeature(t, 'perf_event_array') || !requireFeature(t, 'ringbuf')) return;
  const perf = perfSetup(t);
  const ring = ringSetup(t);
  for (const r of [perf.reader, ring.reader, perf.prog, ring.prog, perf.events, ring.ring]) r.close();
  for (const name of [perf.name, ring.name]) {
    t.ok(await goneFromKernel('prog', name), `no program ${name}`);
    t.ok(await goneFromKernel('map', name), `no map ${name}`);
  }
});

t.test('a callback may close its reader mid-drain without touching unmapped memory', async (t) => {
  if (!requireFeature(t, 'perf_event_array') || !requireFeature(t, 'ringbuf')) return;
  const perf = perfSetup(t, { onSample: () => perf.reader.close() });
  perf.prog.testRun({ repeat: 5 });
  t.equal(perf.reader.poll(), 1, 'stopped after the sample whose callback closed it');
  t.equal(perf.reader.poll(), 0);
  const ring = ringSetup(t, { onSample: () => ring.reader.close() });
  ring.prog.testRun({ repeat: 5 });
  t.equal(ring.reader.poll(), 1);
  t.equal(ring.reader.poll(), 0);
});

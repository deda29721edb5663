import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Cmd } from '../../../bpf/ts/attr.js';
import { u32, u64 } from '../../../bpf/ts/codec.js';
import { finalizer, release, scope, withScope, type Held } from '../../../bpf/ts/lifetime.js';
import { createMap, createPerfEventArray, createRingBuffer } from '../../../bpf/ts/map.js';
import { PerfBufferReader, RingBufferReader } from '../../../bpf/ts/perf.js';
import { Program } from '../../../bpf/ts/prog.js';
import { Link } from '../../../bpf/ts/tracepoint.js';
import { fakeSyscalls, type Fake } from '../../lib/fake-syscalls.js';

// A real collection without --expose-gc on the command line (tap starts the node process).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collect, then let the FinalizationRegistry's cleanup task run; until `done` or a few rounds. */
async function collect(done: () => boolean): Promise<void> {
  for (let i = 0; i < 20 && !done(); i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

/** A fake that hands out fd 10, 11, 12, … for maps and perf events. */
function fdFake(t: Parameters<typeof fakeSyscalls>[0]) {
  let next = 10;
  const fake = fakeSyscalls(t, {
    bpf: (_f, cmd) => (cmd === Cmd.map_create ? next++ : 0),
    perfEventOpen: () => next++,
  });
  return fake;
}

const closed = (fake: Fake) => fake.log.filter((c) => c.name === 'close').map((c) => c.args[0] as number);

t.test('close() twice closes the fd once, for a map, a program and a link', async (t) => {
  const fake = fdFake(t);
  const map = createMap({ name: 'm', type: 'hash', key: u32, value: u64, maxEntries: 8 });
  const prog = new Program(20, 'p', 1, 2, '');
  const link = new Link(21, 'tracepoint syscalls/sys_enter_execve');
  for (const o of [map, prog, link]) {
    o.close();
    o.close();
    t.ok(o.closed);
  }
  t.same(closed(fake), [10, 20, 21]);
  t.throws(() => map.fd, { code: 'closed' });
});

t.test('close() twice releases a reader once: one munmap per mapping, one close per fd', async (t) => {
  const fake = fdFake(t);
  const perf = PerfBufferReader.open(createPerfEventArray('events'), { onSample: () => {}, watch: false });
  perf.close();
  perf.close();
  const rings = fake.mappings.length;
  t.equal(fake.log.filter((c) => c.name === 'munmap').length, rings);
  t.same(closed(fake), Array.from({ length: rings }, (_, i) => 11 + i), 'the perf events, not the map (fd 10)');

  const rb = RingBufferReader.open(createRingBuffer('rb', 4096), { onSample: () => {} });
  t.equal(fake.watchers.size, 1);
  rb.close();
  rb.close();
  t.equal(fake.log.filter((c) => c.name === 'munmap').length, rings + 2);
  t.equal(fake.watchers.size, 0, 'stopped watching');
});

t.test('Symbol.dispose closes (what `using` calls)', async (t) => {
  const fake = fdFake(t);
  t.equal(typeof Symbol.dispose, 'symbol');
  const map = createMap({ name: 'm', type: 'array', key: u32, value: u64, maxEntries: 1 });
  map[Symbol.dispose]();
  t.ok(map.closed);
  new Link(30, 'x')[Symbol.dispose]();
  t.same(closed(fake), [10, 30]);
});

t.test('a scope closes what was opened in it, newest first, and nothing opened outside it', async (t) => {
  const fake = fdFake(t);
  const before = createMap({ name: 'before', type: 'hash', key: u32, value: u64, maxEntries: 8 }); // fd 10
  const s = scope();
  const map = createMap({ name: 'in', type: 'hash', key: u32, value: u64, maxEntries: 8 }); // fd 11
  const prog = new Program(40, 'p', 1, 2, '');
  const link = new Link(41, 'x');
  const early = new Link(42, 'closed early');
  early.close();
  const custom = s.add({ close: () => void fake.log.push({ name: 'close', args: ['custom'] }) });
  s.close();
  const after = createMap({ name: 'after', type: 'hash', key: u32, value: u64, maxEntries: 8 }); // fd 12
  t.same(closed(fake), [42, 'custom', 41, 40, 11] as unknown[], 'newest first; the one closed early only once');
  t.ok(map.closed && prog.closed && link.closed);
  t.notOk(before.closed, 'opened before the scope');
  t.notOk(after.closed, 'opened after it was closed');
  t.ok(custom);
  s.close();
  t.equal(closed(fake).length, 5, 'closing a scope twice closes nothing more');
  t.throws(() => s.add({ close() {} }), /add to scope: closed/);
  before.close();
  after.close();
});

t.test('nested scopes: the innermost collects, and each closes only its own', async (t) => {
  const fake = fdFake(t);
  const outer = scope();
  const a = new Link(50, 'a');
  const inner = scope();
  const b = new Link(51, 'b');
  inner.close();
  const c = new Link(52, 'c');
  t.ok(b.closed);
  t.notOk(a.closed || c.closed);
  outer[Symbol.dispose]();
  t.same(closed(fake), [51, 52, 50]);
});

t.test('a scope closes everything even when one close throws, then throws the first error', async (t) => {
  const fake = fdFake(t);
  const s = scope();
  const link = new Link(60, 'x');
  s.add({
    close() {
      throw new Error('boom');
    },
  });
  t.throws(() => s.close(), /boom/);
  t.ok(link.closed);
  t.same(closed(fake), [60]);
});

t.test('withScope closes afterwards: on return, on throw, and when an async fn settles', async (t) => {
  const fake = fdFake(t);
  let kept: Link | undefined;
  t.equal(
    withScope(() => {
      kept = new Link(70, 'x');
      return 'value';
    }),
    'value',
  );
  t.ok(kept!.closed);
  t.throws(
    () =>
      withScope(() => {
        kept = new Link(71, 'x');
        throw new Error('check failed');
      }),
    /check failed/,
  );
  t.ok(kept!.closed, 'closed on throw');
  await t.rejects(
    withScope(async () => {
      kept = new Link(72, 'x');
      await new Promise((r) => setImmediate(r));
      new Link(73, 'after an await');
      throw new Error('async check failed');
    }),
    /async check failed/,
  );
  t.equal(
    await withScope(async (s) => {
      s.add(new Link(74, 'x'));
      return 7;
    }),
    7,
  );
  t.same(closed(fake), [70, 71, 73, 72, 74]);
  t.equal(new Link(75, 'outside').closed, false, 'no scope is left active');
});

t.test('release() stops watching, unmaps, then closes — each once', async (t) => {
  const fake = fakeSyscalls(t);
  const watch = { closed: 0, close() { this.closed++; } };
  const held: Held = { sys: (await import('../../../bpf/ts/syscall.js')).sys(), watches: [watch], mappings: [{ addr: 0x1000n, length: 4096 }], fds: [5, 6] };
  release(held);
  release(held);
  t.equal(watch.closed, 1);
  t.same(
    fake.log.map((c) => [c.name, ...c.args]),
    [
      ['munmap', 0x1000n, 4096],
      ['close', 5],
      ['close', 6],
    ],
  );
});

t.test('a dropped map, program, link or reader is closed by the finalizer, through the syscalls that opened it', async (t) => {
  const fake = fdFake(t);
  // Opened in a function, so nothing in this test keeps them.
  (() => {
    createMap({ name: 'dropped', type: 'hash', key: u32, value: u64, maxEntries: 8 }); // fd 10
    new Program(80, 'p', 1, 2, '');
    new Link(81, 'x');
    // A watched reader: the fake keeps its callback as libuv would, and still it can be collected.
    RingBufferReader.open(createRingBuffer('rb', 4096), { onSample: () => {} }); // map fd 11
    PerfBufferReader.open(createPerfEventArray('events'), { onSample: () => {} }); // map fd 12, events 13…
  })();
  const rings = fake.mappings.length - 2;
  t.equal(fake.watchers.size, 1 + rings, 'watching the ring buffer and every perf ring');
  const want = [10, 11, 12, ...Array.from({ length: rings }, (_, i) => 13 + i), 80, 81];
  await collect(() => want.every((fd) => closed(fake).includes(fd)) && fake.watchers.size === 0);
  t.same([...closed(fake)].sort((a, b) => a - b), want, 'every fd closed once');
  t.equal(fake.watchers.size, 0, 'the readers\' watches were closed');
  t.equal(fake.log.filter((c) => c.name === 'munmap').length, 2 + rings, 'and their mappings unmapped');
});

t.test('close() unregisters: a closed object that is collected is not closed again', async (t) => {
  const fake = fdFake(t);
  (() => {
    new Link(90, 'x').close();
  })();
  // Something else dropped at the same time proves that the cleanup task did run.
  (() => void new Link(91, 'y'))();
  await collect(() => closed(fake).includes(91));
  t.same(closed(fake), [90, 91]);
  t.type(finalizer, FinalizationRegistry);
});

import t from 'tap';
import { cstring, struct, u32, u64 } from '../../../bpf/ts/codec.js';
import { createMap, possibleCpus } from '../../../bpf/ts/map.js';
import { goneFromKernel, loadedNames, requireFeature, uniqueName } from '../../lib/kernel.js';

type T = Parameters<typeof requireFeature>[0] & { teardown(fn: () => void): void };

function arrayMap(t: T, maxEntries = 4) {
  const m = createMap({ name: uniqueName('km_arr'), type: 'array', key: u32, value: u64, maxEntries });
  t.teardown(() => m.close());
  return m;
}

function hashMap(t: T, maxEntries = 128) {
  const m = createMap({ name: uniqueName('km_hash'), type: 'hash', key: u32, value: u64, maxEntries });
  t.teardown(() => m.close());
  return m;
}

t.test('an array map has every key from the start, all zero', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const m = arrayMap(t);
  t.same([...m], [
    [0, 0n],
    [1, 0n],
    [2, 0n],
    [3, 0n],
  ]);
  m.update(2, 42n);
  t.equal(m.lookup(2), 42n);
});

t.test('an out-of-range array key gives ENOENT', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const m = arrayMap(t);
  t.throws(() => m.lookup(4), { code: 'ENOENT', errno: 2, message: /^look up element in map "km_arr_\w+": ENOENT \(no such key\)$/ });
  t.equal(m.get(4), undefined);
});

t.test('BPF_NOEXIST on an array gives EEXIST', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const m = arrayMap(t);
  t.throws(() => m.update(0, 1n, 'noexist'), { code: 'EEXIST', message: /the key exists and BPF_NOEXIST was given; an array map has every key from the start/ });
  m.update(0, 1n, 'exist');
  t.equal(m.lookup(0), 1n);
});

t.test('writing an array index past max entries gives E2BIG, and array elements cannot be deleted', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const m = arrayMap(t);
  t.throws(() => m.update(4, 1n), { code: 'E2BIG' });
  t.throws(() => m.delete(0), { code: 'EINVAL', message: /write a zero value instead/ });
});

t.test('a wrong key size is a clear error before the syscall', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const m = arrayMap(t);
  t.throws(() => m.lookup(Buffer.alloc(8)), { code: 'wrong key size', errno: undefined, message: /got 8 bytes, the map's keys are 4 bytes: u32/ });
  t.throws(() => createMap({ name: uniqueName('km_bad'), type: 'array', key: u64, value: u64, maxEntries: 1 }), { code: 'wrong key size' });
  t.equal(m.lookup(Buffer.from([1, 0, 0, 0])), 0n, 'raw bytes of the right size are fine');
});

t.test('hash iteration visits every key once', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const m = hashMap(t);
  const keys = Array.from({ length: 100 }, (_, i) => i * 7919);
  for (const k of keys) m.update(k, BigInt(k) * 2n);
  const seen = [...m.keys()];
  t.equal(seen.length, 100);
  t.same([...seen].sort((a, b) => a - b), keys);
  t.ok([...m.entries()].every(([k, v]) => v === BigInt(k) * 2n));
});

t.test('deleting keys during a hash walk still visits every remaining key exactly once', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const m = hashMap(t, 256);
  for (let k = 0; k < 200; k++) m.update(k, BigInt(k));
  const deletedAhead = new Set<number>();
  const visited: number[] = [];
  for (const k of m.keys()) {
    visited.push(k);
    // Every third key goes as soon as it is visited: the kernel then answers the first key, and the
    // walk starts over. Every seventh visit also deletes a key not visited yet.
    if (k % 3 === 0) m.delete(k);
    if (visited.length % 7 === 0) {
      const ahead = [...Array(200).keys()].find((x) => !visited.includes(x) && !deletedAhead.has(x));
      if (ahead !== undefined) {
        m.delete(ahead);
        deletedAhead.add(ahead);
      }
    }
  }
  t.equal(new Set(visited).size, visited.length, 'no key twice');
  t.same(
    [...visited].sort((a, b) => a - b),
    [...Array(200).keys()].filter((k) => !deletedAhead.has(k)),
    `every key but the ${deletedAhead.size} deleted before their turn`,
  );
});

t.test('delete then lookup gives ENOENT; BPF_EXIST and BPF_NOEXIST on a hash say what they found', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const m = hashMap(t);
  m.update(1, 10n, 'noexist');
  t.throws(() => m.update(1, 11n, 'noexist'), { code: 'EEXIST' });
  t.throws(() => m.update(2, 20n, 'exist'), { code: 'ENOENT', message: /no such key and BPF_EXIST was given/ });
  m.delete(1);
  t.throws(() => m.lookup(1), { code: 'ENOENT', message: /no such key/ });
  t.throws(() => m.delete(1), { code: 'ENOENT' });
  t.same([...m.keys()], []);
});

t.test('a full hash map refuses a new key with E2BIG', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const m = hashMap(t, 2);
  m.update(1, 1n);
  m.update(2, 2n);
  t.throws(() => m.update(3, 3n), { code: 'E2BIG', message: /the map is full/ });
  m.update(2, 5n, 'exist');
});

t.test('a struct value and a string round-trip through the kernel', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const value = struct({ count: u64, pid: u32, comm: cstring(16) });
  const m = createMap({ name: uniqueName('km_struct'), type: 'hash', key: u32, value, maxEntries: 4 });
  t.teardown(() => m.close());
  m.update(7, { count: 3n, pid: 7, comm: 'bash' });
  t.same(m.lookup(7), { count: 3n, pid: 7, comm: 'bash' });
  t.equal(m.info().valueSize, 32);
});

t.test('a per-CPU array holds one value per possible CPU', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const m = createMap({ name: uniqueName('km_pcpu'), type: 'percpu_array', key: u32, value: u64, maxEntries: 1 });
  t.teardown(() => m.close());
  const values = Array.from({ length: possibleCpus() }, (_, i) => BigInt(i + 1));
  m.update(0, values);
  t.same(m.lookup(0), values);
});

t.test('info() reports what the kernel knows about the map', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const m = hashMap(t, 64);
  const info = m.info();
  t.match(info, { typeName: 'hash', type: 1, keySize: 4, valueSize: 8, maxEntries: 64, name: m.name });
  t.ok(info.id > 0);
});

t.test('nothing is left in the kernel after close()', async (t) => {
  if (!requireFeature(t, 'bpf')) return;
  const name = uniqueName('km_gone');
  const m = createMap({ name, type: 'hash', key: u32, value: u64, maxEntries: 4 });
  t.ok((await loadedNames('map')).includes(name), 'bpftool sees it while open');
  m.close();
  t.ok(await goneFromKernel('map', name), 'and not after close()');
  t.throws(() => m.lookup(1), { code: 'closed' });
});

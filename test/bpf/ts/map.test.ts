import t from 'tap';
import { Cmd, MapCreateAttr, MapElemAttr, MapInfo, ObjInfoAttr, readField } from '../../../bpf/ts/attr.js';
import { cstring, struct, u32, u64 } from '../../../bpf/ts/codec.js';
import { BpfError } from '../../../bpf/ts/errors.js';
import { createMap, createRingBuffer, possibleCpus } from '../../../bpf/ts/map.js';
import { E, fakeSyscalls, type Fake } from '../../lib/fake-syscalls.js';

const ptr = (attr: Buffer, offset: number) => attr.readBigUInt64LE(offset);

/** A fake that creates maps as fd 42 and answers element commands with `elem`. */
function mapFake(t: Parameters<typeof fakeSyscalls>[0], elem: (fake: Fake, cmd: number, attr: Buffer) => number = () => 0) {
  return fakeSyscalls(t, { bpf: (fake, cmd, attr) => (cmd === Cmd.map_create ? 42 : elem(fake, cmd, attr)) });
}

t.test('creating a map sends MAP_CREATE with the codecs\' sizes and the name, sized to map_name', async (t) => {
  const fake = mapFake(t);
  const m = createMap({ name: 'counts', type: 'hash', key: u32, value: u64, maxEntries: 128, flags: 1 });
  t.equal(m.fd, 42);
  const [call] = fake.bpf;
  t.equal(call!.cmd, Cmd.map_create);
  t.equal(call!.size, 44);
  t.same(
    ['map_type', 'key_size', 'value_size', 'max_entries', 'map_flags'].map((f) => readField(MapCreateAttr, call!.attr, f as 'map_type')),
    [1, 4, 8, 128, 1],
  );
  t.equal(call!.attr.subarray(28, 34).toString(), 'counts');
});

t.test('a bad name, a wrong array key size or a bad size is refused before the syscall', async (t) => {
  const fake = mapFake(t);
  t.throws(() => createMap({ name: 'this_name_is_too_long', type: 'hash', key: u32, value: u32, maxEntries: 1 }), {
    message: 'create map "this_name_is_too_long": bad name ("this_name_is_too_long" has 21 characters; the kernel keeps at most 15)',
  });
  t.throws(() => createMap({ name: 'bad-dash', type: 'hash', key: u32, value: u32, maxEntries: 1 }), { code: 'bad name' });
  t.throws(() => createMap({ name: 'arr', type: 'array', key: u64, value: u32, maxEntries: 1 }), {
    message: "create map \"arr\": wrong key size (array map keys are 4-byte u32 indexes, not u64)",
  });
  t.throws(() => createMap({ name: 'arr', type: 'array', key: u32, value: u32, maxEntries: 0 }), { code: 'bad max entries' });
  t.throws(() => createRingBuffer('rb', 5000), { code: 'bad ring buffer size' });
  t.equal(fake.bpf.length, 0, 'the kernel was never asked');
});

t.test('not being root reads as EPERM with what to do', async (t) => {
  fakeSyscalls(t, { bpf: () => -E.EPERM });
  t.throws(() => createMap({ name: 'counts', type: 'hash', key: u32, value: u64, maxEntries: 8 }), {
    name: 'BpfError',
    code: 'EPERM',
    message: /^create map "counts": EPERM \(run as root or grant CAP_BPF\+CAP_PERFMON/,
  });
});

t.test('lookup sends the key\'s bytes and decodes the value the kernel wrote', async (t) => {
  const value = struct({ count: u64, comm: cstring(16) });
  const fake = mapFake(t, (f, cmd, attr) => {
    if (cmd !== Cmd.map_lookup_elem) return -E.EINVAL;
    const key = f.at(ptr(attr, 8)).readUInt32LE(0);
    if (key !== 7) return -E.ENOENT;
    value.encode({ count: 3n, comm: 'true' }).copy(f.at(ptr(attr, 16)));
    return 0;
  });
  const m = createMap({ name: 'per_pid', type: 'hash', key: u32, value, maxEntries: 8 });
  t.same(m.lookup(7), { count: 3n, comm: 'true' });
  const call = fake.bpf.at(-1)!;
  t.equal(call.size, 24, 'lookup sends map_fd, key and value: offsetofend(value) = 24');
  t.equal(call.attr.readUInt32LE(0), 42);
  t.throws(() => m.lookup(8), { code: 'ENOENT', message: 'look up element in map "per_pid": ENOENT (no such key)' });
  t.equal(m.get(8), undefined);
  t.same(m.get(7), { count: 3n, comm: 'true' });
});

t.test('update passes BPF_ANY, BPF_NOEXIST or BPF_EXIST in flags', async (t) => {
  const seen: [number, number, bigint][] = [];
  const fake = mapFake(t, (f, cmd, attr) => {
    seen.push([f.at(ptr(attr, 8)).readUInt32LE(0), Number(f.at(ptr(attr, 16)).readBigUInt64LE(0)), attr.length >= 32 ? attr.readBigUInt64LE(24) : 0n]);
    return cmd === Cmd.map_update_elem ? 0 : -E.EINVAL;
  });
  const m = createMap({ name: 'm', type: 'hash', key: u32, value: u64, maxEntries: 8 });
  m.update(1, 10n);
  m.update(2, 20n, 'noexist');
  m.update(3, 30n, 'exist');
  t.same(seen, [
    [1, 10, 0n],
    [2, 20, 1n],
    [3, 30, 2n],
  ]);
  t.equal(fake.bpf[1]!.size, 24, 'BPF_ANY is 0: flags need not be sent');
  t.equal(fake.bpf[2]!.size, 32);
});

t.test('a key or value of the wrong size is a clear error before the syscall', async (t) => {
  const fake = mapFake(t);
  const m = createMap({ name: 'm', type: 'hash', key: u32, value: u64, maxEntries: 8 });
  const before = fake.bpf.length;
  t.throws(() => m.lookup(Buffer.alloc(8)), { message: "look up element in map \"m\": wrong key size (got 8 bytes, the map's keys are 4 bytes: u32)" });
  t.throws(() => m.update(1, Buffer.alloc(4)), { code: 'wrong value size' });
  t.throws(() => m.update(-1, 1n), { message: /update element in map "m": bad key \(encode u32: -1 is out of range\)/ });
  t.throws(() => m.delete(2 ** 40), { code: 'bad key' });
  t.equal(fake.bpf.length, before);
});

t.test('keys() walks GET_NEXT_KEY from a NULL key and yields each key once, even when the kernel restarts', async (t) => {
  // The kernel's order: 5, 9, 1 — and after 9 it "restarts" (as when 9 was deleted) before reaching 1.
  const order = [5, 9, 5, 9, 1];
  let step = 0;
  const fake = mapFake(t, (f, cmd, attr) => {
    if (cmd === Cmd.map_get_next_key) {
      if (step >= order.length) return -E.ENOENT;
      f.at(ptr(attr, 16)).writeUInt32LE(order[step++]!);
      return 0;
    }
    if (cmd === Cmd.map_lookup_elem) {
      f.at(ptr(attr, 16)).writeBigUInt64LE(BigInt(f.at(ptr(attr, 8)).readUInt32LE(0)) * 10n);
      return 0;
    }
    return -E.EINVAL;
  });
  const m = createMap({ name: 'm', type: 'hash', key: u32, value: u64, maxEntries: 8 });
  t.same([...m.keys()], [5, 9, 1], 'keys seen again are skipped, and the walk goes on to the ones after them');
  const first = fake.bpf.find((c) => c.cmd === Cmd.map_get_next_key)!;
  t.equal(ptr(first.attr, 8), 0n, 'the first call asks for the first key with key = NULL');
  step = 0;
  order.splice(0, order.length, 3, 4);
  t.same([...m], [
    [3, 30n],
    [4, 40n],
  ]);
});

/**
 * A hash map that walks as the kernel's does (htab_map_get_next_key): keys in bucket order, and
 * GET_NEXT_KEY from a key that is gone answers the first key — or, with `missing: 'enoent'`, ENOENT.
 */
function kernelHash(t: Parameters<typeof fakeSyscalls>[0], keys: number[], missing: 'first' | 'enoent' = 'first') {
  const live = [...keys];
  let restarts = 0;
  mapFake(t, (f, cmd, attr) => {
    const keyAt = ptr(attr, 8);
    const key = keyAt === 0n ? undefined : f.at(keyAt).readUInt32LE(0);
    const at = key === undefined ? -1 : live.indexOf(key);
    switch (cmd) {
      case Cmd.map_get_next_key: {
        if (key !== undefined && at < 0) {
          restarts++;
          if (missing === 'enoent') return -E.ENOENT;
        }
        const next = live[at + 1];
        if (next === undefined) return -E.ENOENT;
        f.at(ptr(attr, 16)).writeUInt32LE(next);
        return 0;
      }
      case Cmd.map_lookup_elem:
        if (at < 0) return -E.ENOENT;
        f.at(ptr(attr, 16)).writeBigUInt64LE(BigInt(key!) * 10n);
        return 0;
      case Cmd.map_delete_elem:
        if (at < 0) return -E.ENOENT;
        live.splice(at, 1);
        return 0;
      default:
        return -E.EINVAL;
    }
  });
  return { live, restarts: () => restarts };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const counted = (keys: number[]) => keys.reduce((m, k) => m.set(k, (m.get(k) ?? 0) + 1), new Map<number, number>());

t.test('deleting each key as it is visited still visits every key once', async (t) => {
  const { restarts } = kernelHash(t, range(1, 10));
  const m = createMap({ name: 'm', type: 'hash', key: u32, value: u64, maxEntries: 16 });
  const visited: number[] = [];
  for (const k of m.keys()) {
    visited.push(k);
    m.delete(k);
  }
  t.same(visited, range(1, 10));
  t.equal(restarts(), 10, 'every step started from a deleted key');
});

t.test('deleting keys behind and ahead of the walk visits every remaining key exactly once', async (t) => {
  const { live, restarts } = kernelHash(t, range(1, 20));
  const m = createMap({ name: 'm', type: 'hash', key: u32, value: u64, maxEntries: 32 });
  const visited: number[] = [];
  for (const k of m.keys()) {
    visited.push(k);
    if (k === 5) {
      m.delete(3); // behind: already visited
      m.delete(12); // ahead: never to be visited
    }
    if (k === 8) m.delete(8); // the current key, in the middle: the kernel answers the first key next
    if (k === 15) m.delete(1); // the first key itself
  }
  t.ok(restarts() >= 1, 'the kernel restarted the walk');
  t.same([...counted(visited)].filter(([, n]) => n !== 1), [], 'no key twice');
  t.same([...new Set(visited)].sort((a, b) => a - b), range(1, 20).filter((k) => k !== 12), 'every key that was there when its turn came');
  t.notOk(live.includes(8));
});

t.test('entries() skips what was deleted mid-walk and yields the rest once', async (t) => {
  kernelHash(t, range(1, 8));
  const m = createMap({ name: 'm', type: 'hash', key: u32, value: u64, maxEntries: 8 });
  const got: [number, bigint][] = [];
  for (const [k, v] of m) {
    got.push([k, v]);
    if (k === 4) {
      m.delete(4);
      m.delete(6);
    }
  }
  t.same(got, [1, 2, 3, 4, 5, 7, 8].map((k) => [k, BigInt(k) * 10n]));
});

t.test('a map that answers ENOENT after a deleted key is walked again from the start', async (t) => {
  const { restarts } = kernelHash(t, range(1, 6), 'enoent');
  const m = createMap({ name: 'm', type: 'hash', key: u32, value: u64, maxEntries: 8 });
  const visited: number[] = [];
  for (const k of m.keys()) {
    visited.push(k);
    if (k === 3 || k === 6) m.delete(k);
  }
  t.same(visited, range(1, 6), 'the end of the map is an end only when the last key is still there');
  t.equal(restarts(), 2);
});

t.test('keys that keep vanishing abort the walk after max_entries restarts', async (t) => {
  // Every GET_NEXT_KEY answers 5: a walk that would never end.
  const fake = mapFake(t, (f, cmd, attr) => {
    if (cmd !== Cmd.map_get_next_key) return -E.EINVAL;
    f.at(ptr(attr, 16)).writeUInt32LE(5);
    return 0;
  });
  const m = createMap({ name: 'churn', type: 'hash', key: u32, value: u64, maxEntries: 4 });
  const visited: number[] = [];
  t.throws(
    () => {
      for (const k of m.keys()) visited.push(k);
    },
    { code: 'aborted', message: 'get next key in map "churn": aborted (keys kept vanishing: 4 restarts, as many as max entries)' },
  );
  t.same(visited, [5]);
  t.equal(fake.bpf.filter((c) => c.cmd === Cmd.map_get_next_key).length, 6, 'the first key, then 4 restarts, then the one too many');
});

t.test('info() reads bpf_map_info through OBJ_GET_INFO_BY_FD', async (t) => {
  const fake = mapFake(t, (f, cmd, attr) => {
    if (cmd !== Cmd.obj_get_info_by_fd) return -E.EINVAL;
    const info = f.at(ptr(attr, 8));
    info.writeUInt32LE(1, MapInfo.fields.type.offset);
    info.writeUInt32LE(77, MapInfo.fields.id.offset);
    info.write('m', MapInfo.fields.name.offset);
    attr.writeUInt32LE(40, ObjInfoAttr.fields.info_len.offset);
    return 0;
  });
  const m = createMap({ name: 'm', type: 'hash', key: u32, value: u64, maxEntries: 8 });
  const info = m.info();
  t.match(info, { type: 1, typeName: 'hash', id: 77, name: 'm' });
  const call = fake.bpf.at(-1)!;
  t.equal(call.size, 16);
  t.equal(readField(ObjInfoAttr, call.attr, 'info_len'), 40, 'offers exactly the fields it reads');
});

t.test('a per-CPU map reads one value per possible CPU', async (t) => {
  const cpus = possibleCpus();
  mapFake(t, (f, cmd, attr) => {
    const out = f.at(ptr(attr, 16));
    for (let cpu = 0; cpu < cpus; cpu++) out.writeUInt32LE(cpu + 1, cpu * 8);
    return 0;
  });
  const m = createMap({ name: 'scratch', type: 'percpu_array', key: u32, value: u32, maxEntries: 1 });
  t.equal(m.value.size, 8 * cpus);
  t.same(m.lookup(0), Array.from({ length: cpus }, (_, i) => i + 1));
});

t.test('possible CPUs are the highest index plus one', async (t) => {
  t.equal(possibleCpus('0\n'), 1);
  t.equal(possibleCpus('0-3\n'), 4);
  t.equal(possibleCpus('0,2-5\n'), 6);
  t.throws(() => possibleCpus('garbage'), /cannot parse/);
});

t.test('close() closes the fd once, and a closed map says so', async (t) => {
  const fake = mapFake(t);
  const m = createMap({ name: 'm', type: 'hash', key: u32, value: u64, maxEntries: 8 });
  m.close();
  m.close();
  t.equal(fake.log.filter((c) => c.name === 'close').length, 1);
  t.ok(m.closed);
  t.throws(() => m.lookup(1), BpfError);
});

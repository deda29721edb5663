import t from 'tap';
import { Cmd, MapElemAttr, PERF_EVENT_IOC_ENABLE, PerfEventAttr, readField } from '../../../bpf/ts/attr.js';
import { createPerfEventArray, createRingBuffer, possibleCpus } from '../../../bpf/ts/map.js';
import { copyWrapped, PerfBufferReader, RingBufferReader } from '../../../bpf/ts/perf.js';
import { PAGE_SIZE } from '../../../bpf/ts/syscall.js';
import { E, fakeSyscalls } from '../../lib/fake-syscalls.js';

type T = Parameters<typeof fakeSyscalls>[0];

/** Fake answers for a perf event array (fd 42) and its per-CPU events (fd 100 + cpu). */
function perfFake(t: T, offlineCpus: number[] = []) {
  const opened: { attr: Buffer; pid: number; cpu: number }[] = [];
  const updates: [number, number][] = [];
  const deletes: number[] = [];
  const fake = fakeSyscalls(t, {
    bpf: (f, cmd, attr) => {
      if (cmd === Cmd.map_create) return 42;
      const key = f.at(attr.readBigUInt64LE(MapElemAttr.fields.key.offset)).readUInt32LE(0);
      if (cmd === Cmd.map_update_elem) updates.push([key, f.at(attr.readBigUInt64LE(MapElemAttr.fields.value.offset)).readUInt32LE(0)]);
      if (cmd === Cmd.map_delete_elem) deletes.push(key);
      return 0;
    },
    perfEventOpen: (_f, attr, pid, cpu) => {
      if (offlineCpus.includes(cpu)) return -E.ENODEV;
      opened.push({ attr: Buffer.from(attr), pid, cpu });
      return 100 + cpu;
    },
  });
  return { fake, opened, updates, deletes };
}

const DATA_HEAD = 1024;
const DATA_TAIL = 1032;

/** Write a record at ring position pos, wrapping at the end of the data pages, as the kernel does. */
function writeRecord(mem: Buffer, dataSize: number, pos: bigint, record: Buffer): bigint {
  const start = Number(pos % BigInt(dataSize));
  for (let i = 0; i < record.length; i++) mem[PAGE_SIZE + ((start + i) % dataSize)] = record[i]!;
  return pos + BigInt(record.length);
}

/** PERF_RECORD_SAMPLE with PERF_SAMPLE_RAW: header, u32 size, data padded to keep the record 8-aligned. */
function sampleRecord(data: Buffer): Buffer {
  const rawSize = Math.ceil((data.length + 4) / 8) * 8 - 4;
  const r = Buffer.alloc(12 + rawSize);
  r.writeUInt32LE(9, 0);
  r.writeUInt16LE(r.length, 6);
  r.writeUInt32LE(rawSize, 8);
  data.copy(r, 12);
  return r;
}

/** PERF_RECORD_LOST: header, u64 id, u64 lost. */
function lostRecord(count: number): Buffer {
  const r = Buffer.alloc(24);
  r.writeUInt32LE(2, 0);
  r.writeUInt16LE(24, 6);
  r.writeBigUInt64LE(BigInt(count), 16);
  return r;
}

t.test('the perf reader opens a BPF-output event per CPU, maps 1 + n pages and puts each fd in the map', async (t) => {
  const { fake, opened, updates } = perfFake(t);
  const cpus = possibleCpus();
  const reader = PerfBufferReader.open(createPerfEventArray('events'), { onSample: () => {}, pages: 2, watch: false });
  t.equal(opened.length, cpus);
  t.same(
    (['type', 'config', 'sample_period', 'sample_type', 'wakeup_events'] as const).map((f) => readField(PerfEventAttr, opened[0]!.attr, f)),
    [1, 10n, 1n, 1024n, 1],
    'PERF_TYPE_SOFTWARE, PERF_COUNT_SW_BPF_OUTPUT, every event, PERF_SAMPLE_RAW, wake on each',
  );
  t.same(opened.map((o) => [o.pid, o.cpu]), Array.from({ length: cpus }, (_, cpu) => [-1, cpu]));
  t.same(fake.mappings.map((m) => [m.fd, m.length, m.prot, m.offset]), Array.from({ length: cpus }, (_, cpu) => [100 + cpu, 3 * PAGE_SIZE, 3, 0]));
  t.same(updates, Array.from({ length: cpus }, (_, cpu) => [cpu, 100 + cpu]));
  t.equal(fake.log.filter((c) => c.name === 'ioctl' && c.args[1] === PERF_EVENT_IOC_ENABLE).length, cpus);
  reader.close();
});

t.test('samples come out in order, a record that wraps is put back together, and data_tail follows', async (t) => {
  const { fake } = perfFake(t);
  const got: string[] = [];
  const reader = PerfBufferReader.open(createPerfEventArray('events'), { onSample: (s, cpu) => got.push(`${cpu}:${s.toString()}`), pages: 1, watch: false });
  const { mem } = fake.mappings[0]!;
  const dataSize = PAGE_SIZE;
  // Start 8 bytes before the end: the first record's header fits, its body wraps to the beginning.
  let head = BigInt(dataSize - 8);
  mem.writeBigUInt64LE(head, DATA_TAIL);
  head = writeRecord(mem, dataSize, head, sampleRecord(Buffer.from('wrapped-sample')));
  head = writeRecord(mem, dataSize, head, sampleRecord(Buffer.from('next')));
  mem.writeBigUInt64LE(head, DATA_HEAD);
  t.equal(reader.poll(), 2);
  // Raw data is padded by the kernel: 'wrapped-sample' (14 bytes) arrives as 20.
  t.same(got, ['0:wrapped-sample\0\0\0\0\0\0', '0:next']);
  t.equal(mem.readBigUInt64LE(DATA_TAIL), head, 'data_tail = data_head: the kernel may reuse the space');
  t.equal(reader.poll(), 0, 'nothing new');
  t.equal(reader.samples, 2);
  reader.close();
});

t.test('PERF_RECORD_LOST adds to the lost count and tells onLost', async (t) => {
  const { fake } = perfFake(t);
  const lost: [number, number | undefined][] = [];
  const reader = PerfBufferReader.open(createPerfEventArray('events'), { onSample: () => {}, onLost: (n, cpu) => lost.push([n, cpu]), pages: 1, watch: false });
  const cpu = fake.mappings.length - 1;
  const { mem } = fake.mappings[cpu]!;
  let head = writeRecord(mem, PAGE_SIZE, 0n, lostRecord(830));
  head = writeRecord(mem, PAGE_SIZE, head, sampleRecord(Buffer.from('abcd')));
  mem.writeBigUInt64LE(head, DATA_HEAD);
  t.equal(reader.poll(), 1);
  t.equal(reader.lost, 830);
  t.same(lost, [[830, cpu]]);
  reader.close();
});

t.test('a watched ring is drained when its fd turns readable', async (t) => {
  const { fake } = perfFake(t);
  const got: Buffer[] = [];
  const reader = PerfBufferReader.open(createPerfEventArray('events'), { onSample: (s) => got.push(s), pages: 1 });
  t.same([...fake.watchers.keys()], fake.mappings.map((m) => m.fd));
  const { mem, fd } = fake.mappings[0]!;
  mem.writeBigUInt64LE(writeRecord(mem, PAGE_SIZE, 0n, sampleRecord(Buffer.from('1234'))), DATA_HEAD);
  fake.watchers.get(fd)!();
  t.same(got, [Buffer.from('1234')]);
  reader.close();
  t.equal(fake.watchers.size, 0, 'close stops watching');
});

t.test('close takes the fds out of the map, unmaps and closes every ring', async (t) => {
  const { fake, deletes } = perfFake(t);
  const cpus = possibleCpus();
  const reader = PerfBufferReader.open(createPerfEventArray('events'), { onSample: () => {}, watch: false });
  reader.close();
  reader.close();
  t.same(deletes, Array.from({ length: cpus }, (_, cpu) => cpu));
  t.equal(fake.log.filter((c) => c.name === 'munmap').length, cpus);
  t.same(
    fake.log.filter((c) => c.name === 'close').map((c) => c.args[0]),
    Array.from({ length: cpus }, (_, cpu) => 100 + cpu),
  );
});

t.test('an offline CPU is skipped; bad page counts are refused', async (t) => {
  const { opened } = perfFake(t, [1]);
  const reader = PerfBufferReader.open(createPerfEventArray('events'), { onSample: () => {}, watch: false });
  t.notOk(opened.some((o) => o.cpu === 1));
  reader.close();
  t.throws(() => PerfBufferReader.open(createPerfEventArray('events'), { onSample: () => {}, pages: 3 }), { code: 'bad page count' });
});

t.test('copyWrapped joins the end and the start of a ring', async (t) => {
  const mem = Buffer.from('HEADxyz____abc');
  t.equal(copyWrapped(mem, 4, 10, 7, 6).toString(), 'abcxyz');
  t.equal(copyWrapped(mem, 4, 10, 0, 3).toString(), 'xyz', 'no wrap: one piece');
});

/** A ring buffer record: u32 len with BUSY/DISCARD bits, u32 page offset, data padded to 8. */
function ringRecord(data: Buffer, flags = 0): Buffer {
  const r = Buffer.alloc(Math.ceil((8 + data.length) / 8) * 8);
  r.writeUInt32LE((data.length | flags) >>> 0, 0);
  data.copy(r, 8);
  return r;
}

t.test('the ring buffer reader maps the consumer page rw and producer + data ro, and reads committed records', async (t) => {
  const fake = fakeSyscalls(t, { bpf: (_f, cmd) => (cmd === Cmd.map_create ? 43 : 0) });
  const rb = createRingBuffer('rb', 4096);
  const got: string[] = [];
  const reader = RingBufferReader.open(rb, { onSample: (s) => got.push(s.toString()), watch: false });
  const [consumer, producer] = fake.mappings;
  t.same([consumer!.fd, consumer!.length, consumer!.prot, consumer!.offset], [43, PAGE_SIZE, 3, 0]);
  t.same([producer!.fd, producer!.length, producer!.prot, producer!.offset], [43, PAGE_SIZE + 2 * 4096, 1, PAGE_SIZE]);

  const records = [ringRecord(Buffer.from('first')), ringRecord(Buffer.from('dropped'), 0x40000000), ringRecord(Buffer.from('third')), ringRecord(Buffer.from('busy'), 0x80000000)];
  let pos = 0;
  for (const r of records) {
    r.copy(producer!.mem, PAGE_SIZE + pos);
    pos += r.length;
  }
  producer!.mem.writeBigUInt64LE(BigInt(pos), 0);
  t.equal(reader.poll(), 2);
  t.same(got, ['first', 'third']);
  t.equal(reader.discarded, 1);
  const busyAt = pos - records[3]!.length;
  t.equal(consumer!.mem.readBigUInt64LE(0), BigInt(busyAt), 'stops at a record still being written');
  producer!.mem.writeUInt32LE(4, PAGE_SIZE + busyAt);
  t.equal(reader.poll(), 1);
  t.same(got, ['first', 'third', 'busy']);
  t.equal(consumer!.mem.readBigUInt64LE(0), BigInt(pos));
  reader.close();
  t.equal(fake.log.filter((c) => c.name === 'munmap').length, 2);
  t.equal(reader.lost, 0);
});

t.test('a ring buffer reader needs a ring buffer map', async (t) => {
  fakeSyscalls(t, { bpf: () => 42 });
  const events = createPerfEventArray('events');
  t.throws(() => RingBufferReader.open(events as never, { onSample: () => {} }), {
    message: 'mmap map "events": not a ring buffer (map "events" is a perf_event_array map)',
  });
});

import t from 'tap';
import { bytes, cstring, perCpu, roundUp, s32, s64, struct, u8, u16, u32, u64 } from '../../../bpf/ts/codec.js';

t.test('integers encode little-endian in their own size and refuse what does not fit', async (t) => {
  t.equal(u32.encode(0x11223344).toString('hex'), '44332211');
  t.equal(u32.decode(Buffer.from('44332211', 'hex')), 0x11223344);
  t.equal(u64.encode(1n << 40n).toString('hex'), '0000000000010000');
  t.equal(s32.decode(s32.encode(-2)), -2);
  t.equal(s64.decode(s64.encode(-2n)), -2n);
  t.equal(u16.encode(0xbeef).toString('hex'), 'efbe');
  t.equal(u8.size, 1);
  t.throws(() => u32.encode(2 ** 32), /out of range/);
  t.throws(() => u32.encode(-1), /out of range/);
  t.throws(() => u32.encode(1.5), /out of range/);
  t.throws(() => u64.encode(5 as unknown as bigint), /out of range/, 'a u64 takes a bigint');
});

t.test('a fixed string reads up to its NUL and keeps room for one', async (t) => {
  const comm = cstring(16);
  t.equal(comm.size, 16);
  t.equal(comm.encode('bash').toString('latin1'), 'bash' + '\0'.repeat(12));
  t.equal(comm.decode(Buffer.from('true\0garbage\0\0\0\0')), 'true');
  t.equal(comm.decode(Buffer.from('x'.repeat(16))), 'x'.repeat(16), 'no NUL at all: all 16 bytes');
  t.equal(comm.encode('x'.repeat(15)).length, 16);
  t.throws(() => comm.encode('x'.repeat(16)), /needs 17 bytes/);
});

t.test('raw bytes must have the exact size', async (t) => {
  t.same(bytes(4).encode(Buffer.from([1, 2, 3, 4])), Buffer.from([1, 2, 3, 4]));
  t.throws(() => bytes(4).encode(Buffer.alloc(3)), /got 3 bytes/);
});

t.test('a struct lays its fields out as C does: natural alignment, padded to the largest', async (t) => {
  // struct event { u32 pid; u64 ts; char comm[16]; u32 ret; } → pid@0 ts@8 comm@16 ret@32, sizeof 40
  const event = struct({ pid: u32, ts: u64, comm: cstring(16), ret: s32 });
  t.same(event.offsets, { pid: 0, ts: 8, comm: 16, ret: 32 });
  t.equal(event.size, 40);
  t.equal(event.align, 8);
  t.equal(event.describe, 'struct { u32 pid; u64 ts; char[16] comm; s32 ret; }');
  const value = { pid: 42, ts: 7n, comm: 'true', ret: -2 };
  const encoded = event.encode(value);
  t.equal(encoded.length, 40);
  t.equal(encoded.readUInt32LE(0), 42);
  t.equal(encoded.readBigUInt64LE(8), 7n);
  t.equal(encoded.readInt32LE(32), -2);
  t.same(event.decode(encoded), value);
  t.throws(() => event.encode({ pid: 1, ts: 1n, comm: 'x' } as typeof value), /field ret is missing/);
});

t.test('a per-CPU value has one 8-byte-aligned slot per CPU', async (t) => {
  const pc = perCpu(u32, 3);
  t.equal(pc.size, 24);
  const b = pc.encode([1, 2, 3]);
  t.same([b.readUInt32LE(0), b.readUInt32LE(8), b.readUInt32LE(16)], [1, 2, 3]);
  t.same(pc.decode(b), [1, 2, 3]);
  t.throws(() => pc.encode([1, 2]), /got 2 values for 3 possible CPUs/);
  t.equal(roundUp(12, 8), 16);
});

import t from 'tap';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { BtfInfo, Cmd, GetIdAttr, ObjInfoAttr, readU32, readU64 } from '../../../bpf/ts/attr.js';
import { Btf, BtfKind, VMLINUX_BTF_PATH, vmlinuxBtfFromBpf } from '../../../bpf/ts/btf.js';
import { E, fakeSyscalls } from '../../lib/fake-syscalls.js';

/** A BTF blob built by hand: int, a pointer, a struct with an anonymous union and a bitfield. */
function tinyBtf(): Buffer {
  const strings = ['', 'int', 'task', 'pid', 'parent', 'flags', 'tgid'];
  const strOff = (s: string) => strings.slice(0, strings.indexOf(s)).reduce((n, x) => n + x.length + 1, 0);
  const strSec = Buffer.from(strings.map((s) => s + '\0').join(''));
  const words: number[] = [];
  const type = (name: string, kind: number, vlen: number, sizeOrType: number, kindFlag = 0) =>
    words.push(name ? strOff(name) : 0, ((kindFlag << 31) | (kind << 24) | vlen) >>> 0, sizeOrType);
  type('int', BtfKind.INT, 0, 4); words.push(32); // id 1: int (encoding: 32 bits)
  type('', BtfKind.PTR, 0, 3); // id 2: struct task *
  type('task', BtfKind.STRUCT, 3, 24, 1); // id 3: kind_flag: member offsets carry bitfield sizes
  words.push(strOff('pid'), 1, 0); // int pid at bit 0
  words.push(strOff('parent'), 2, 64); // struct task *parent at byte 8
  words.push(0, 4, 128); // anonymous union at byte 16
  type('', BtfKind.UNION, 2, 4); // id 4
  words.push(strOff('tgid'), 1, 0);
  words.push(strOff('flags'), 1, 0);
  const typeSec = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => typeSec.writeUInt32LE(w >>> 0, i * 4));
  const hdr = Buffer.alloc(24);
  hdr.writeUInt16LE(0xeb9f, 0);
  hdr.writeUInt8(1, 2);
  hdr.writeUInt32LE(24, 4);
  hdr.writeUInt32LE(0, 8);
  hdr.writeUInt32LE(typeSec.length, 12);
  hdr.writeUInt32LE(typeSec.length, 16);
  hdr.writeUInt32LE(strSec.length, 20);
  return Buffer.concat([hdr, typeSec, strSec]);
}

t.test('a field is found by name, also inside an anonymous union, with its byte offset and size', async (t) => {
  const btf = new Btf(tinyBtf());
  t.same(btf.fieldOf('task', 'parent'), { offset: 8, size: 8 });
  t.same(btf.fieldOf('task', 'tgid'), { offset: 16, size: 4 });
  t.throws(() => btf.fieldOf('task', 'comm'), /struct task has no field comm/);
  t.throws(() => btf.struct('mm_struct'), /no struct mm_struct/);
});

t.test('BTF data that does not start on a 4-byte boundary of its buffer reads the same', async (t) => {
  const blob = tinyBtf();
  const shifted = Buffer.alloc(blob.length + 1);
  blob.copy(shifted, 1);
  const btf = new Btf(shifted.subarray(1));
  t.equal(btf.count, 4);
  t.same(btf.fieldOf('task', 'tgid'), { offset: 16, size: 4 });
  t.equal(btf.type(2).kind, BtfKind.PTR, 'the records after a struct with members are found too');
});

t.test('a second struct asked for after the first lookup is found by its own pass', async (t) => {
  const btf = new Btf(tinyBtf());
  t.same(btf.fieldOf('task', 'parent'), { offset: 8, size: 8 });
  btf.findStructs(['int']);
  t.throws(() => btf.struct('int'), /no struct int/, 'an INT of that name is not a struct');
});

t.test('data that is not BTF is refused', async (t) => {
  t.throws(() => new Btf(Buffer.alloc(32)), /bad magic/);
});

t.test('task_struct offsets read from the kernel BTF equal what clang computes from vmlinux.h', async (t) => {
  const vmlinux = '/sys/kernel/btf/vmlinux';
  if (!existsSync(vmlinux)) return t.plan(0, `${vmlinux} is missing: boot a kernel built with CONFIG_DEBUG_INFO_BTF`);
  const dir = await mkdtemp(path.join(tmpdir(), 'btf-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const dump = await execa('bpftool', ['btf', 'dump', 'file', vmlinux, 'format', 'c'], { reject: false, maxBuffer: 1 << 30 });
  if (dump.exitCode !== 0) return t.plan(0, 'bpftool is missing: apt-get install bpftool');
  await writeFile(path.join(dir, 'vmlinux.h'), dump.stdout);
  await writeFile(path.join(dir, 'off.c'), '#include "vmlinux.h"\nint printf(const char *, ...);\nint main(void) { printf("%lu %lu\\n", __builtin_offsetof(struct task_struct, real_parent), __builtin_offsetof(struct task_struct, tgid)); return 0; }\n');
  const cc = await execa('clang', ['-w', '-o', path.join(dir, 'off'), path.join(dir, 'off.c')], { reject: false });
  if (cc.exitCode !== 0 && /ENOENT/.test(cc.message ?? '')) return t.plan(0, 'clang is missing: apt-get install clang');
  t.equal(cc.exitCode, 0, String(cc.stderr));
  const [realParent, tgid] = (await execa(path.join(dir, 'off'))).stdout.trim().split(' ').map(Number);
  const btf = Btf.load(vmlinux);
  t.equal(btf.fieldOf('task_struct', 'real_parent').offset, realParent);
  t.equal(btf.fieldOf('task_struct', 'tgid').offset, tgid);
});

t.test('the kernel\'s BTF comes from bpf(): the first BTF object named vmlinux, its size asked, then its bytes', async (t) => {
  const blob = tinyBtf();
  const infoOf = (attr: Buffer, f: ReturnType<typeof fakeSyscalls>) => f.at(readU64(ObjInfoAttr, attr, 'info'));
  const fake = fakeSyscalls(t, {
    bpf: (f, cmd, attr) => {
      if (cmd === Cmd.btf_get_next_id) return readU32(GetIdAttr, attr, 'start_id') === 0 ? (attr.writeUInt32LE(1, GetIdAttr.fields.next_id.offset), 0) : -E.ENOENT;
      if (cmd === Cmd.btf_get_fd_by_id) return 9;
      const info = infoOf(attr, f);
      // the kernel fills as much of the info as it was offered
      if (info.length >= 32) {
        f.at(readU64(BtfInfo, info, 'name')).write('vmlinux\0');
        info.writeUInt32LE(1, BtfInfo.fields.kernel_btf.offset);
      }
      if (readU64(BtfInfo, info, 'btf') !== 0n) blob.copy(f.at(readU64(BtfInfo, info, 'btf')));
      info.writeUInt32LE(blob.length, BtfInfo.fields.btf_size.offset);
      return 0; // info_len stays what was offered: the kernel knows every field
    },
  });
  const btf = Btf.fromKernel();
  t.same(btf.fieldOf('task', 'parent'), { offset: 8, size: 8 });
  t.same(fake.bpf.map((c) => c.cmd), [Cmd.btf_get_next_id, Cmd.btf_get_fd_by_id, Cmd.obj_get_info_by_fd, Cmd.obj_get_info_by_fd]);
  t.equal(readU32(BtfInfo, infoOf(fake.bpf[3]!.attr, fake), 'btf_size'), blob.length, 'the second call offers a buffer of the size the first reported');
  t.ok(fake.log.some((c) => c.name === 'close' && c.args[0] === 9), 'the BTF object\'s fd is closed');
});

t.test('a kernel whose BTF info has no kernel_btf (before 5.11) is read from sysfs instead', async (t) => {
  const fake = fakeSyscalls(t, {
    bpf: (_f, cmd, attr) => {
      if (cmd === Cmd.btf_get_next_id) return attr.writeUInt32LE(1, GetIdAttr.fields.next_id.offset), 0;
      if (cmd === Cmd.btf_get_fd_by_id) return 9;
      attr.writeUInt32LE(24, ObjInfoAttr.fields.info_len.offset); // 5.10 knows btf, btf_size and id only
      return 0;
    },
  });
  t.equal(vmlinuxBtfFromBpf(), undefined);
  t.equal(fake.bpf.length, 3, 'no second info call');
  t.equal(fakeSyscalls(t, { bpf: () => -E.EPERM }) && vmlinuxBtfFromBpf(), undefined, 'nor when bpf() is refused');
  if (existsSync(VMLINUX_BTF_PATH)) t.ok(Btf.fromKernel().count > 1000, 'the fallback reads the file');
  else t.throws(() => Btf.fromKernel(), /ENOENT/, 'the fallback reads the file, which is missing here');
});

t.test('a lookup walks the types only as far as it needs, and a later one walks on from there', async (t) => {
  const btf = new Btf(tinyBtf());
  t.equal(btf.struct('task').id, 3, 'the walk stops at the struct');
  t.equal(btf.type(4).kind, BtfKind.UNION, 'a later id: the walk goes on');
  t.equal(btf.count, 4);
  t.throws(() => btf.type(5), /no type with id 5/);
  t.throws(() => btf.struct('nosuch'), /no struct nosuch/, 'a name not in the strings: no walk, an error');
  btf.findStructs(['task', 'task']);
  t.equal(btf.struct('task').id, 3, 'asked again: the same answer');
});

// Unit tests for what QEMU boots: the cpio writer (read back by cpio(1)), ELF checks, the bzImage
// payload, the guest init's syntax. The real build runs in the VM tests.

import t from 'tap';
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bzImagePayload, cpioNewc, findStaticBusybox, GUEST_INIT, GUEST_MODULES, hasPvhEntry, isStaticElf } from '../../vm/initramfs.js';

t.test('the cpio archive lists back through cpio(1) with its device node, symlink and file contents', async (t) => {
  const archive = cpioNewc([
    { path: 'dev', type: 'dir' },
    { path: 'dev/console', type: 'chardev', major: 5, minor: 1 },
    { path: 'init', type: 'file', data: Buffer.from('#!/bin/sh\n'), mode: 0o755 },
    { path: 'odd', type: 'file', data: Buffer.from('12345') },
    { path: 'link', type: 'symlink', target: 'init' },
  ]);
  t.equal(archive.length % 4, 0, 'newc pads to 4 bytes');
  const listing = await execa('cpio', ['-itv', '--quiet'], { input: archive, reject: false });
  t.equal(listing.exitCode, 0, listing.stderr);
  const lines = listing.stdout.split('\n');
  t.match(lines[1], /^crw------- .* 5,\s+1 .* dev\/console$/, 'a character device 5,1');
  t.match(lines[2], /^-rwxr-xr-x .* init$/, 'an executable init');
  t.match(lines[4], /^lrwxrwxrwx .* link -> init$/, 'a symlink');
  const dir = await mkdtemp(join(tmpdir(), 'lab-cpio-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const extract = await execa('cpio', ['-id', '--quiet', '--no-absolute-filenames', 'odd'], { input: archive, cwd: dir, reject: false });
  t.equal(extract.exitCode, 0, extract.stderr);
  t.equal(await readFile(join(dir, 'odd'), 'utf8'), '12345', 'an odd-sized file keeps its bytes');
});

t.test("busybox-static is static and the host's ls is not", async (t) => {
  const busybox = await findStaticBusybox();
  t.ok(isStaticElf(await readFile(busybox)), `${busybox} has no program interpreter`);
  t.notOk(isStaticElf(await readFile('/bin/ls')), '/bin/ls needs ld.so');
  t.notOk(isStaticElf(Buffer.from('#!/bin/sh\n')), 'a script is no ELF');
});

/** A minimal ELF64 with one PT_NOTE holding the given notes. */
function elfWithNotes(notes: { name: string; type: number; desc: Buffer }[]): Buffer {
  const body = Buffer.concat(
    notes.map((n) => {
      const name = Buffer.alloc(Math.ceil((n.name.length + 1) / 4) * 4);
      name.write(n.name);
      const header = Buffer.alloc(12);
      header.writeUInt32LE(n.name.length + 1, 0);
      header.writeUInt32LE(n.desc.length, 4);
      header.writeUInt32LE(n.type, 8);
      return Buffer.concat([header, name, n.desc, Buffer.alloc((4 - (n.desc.length % 4)) % 4)]);
    }),
  );
  const elf = Buffer.alloc(64 + 56);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[4] = 2; // 64-bit
  elf[5] = 1; // little-endian
  elf.writeBigUInt64LE(64n, 0x20); // e_phoff
  elf.writeUInt16LE(56, 0x36); // e_phentsize
  elf.writeUInt16LE(1, 0x38); // e_phnum
  elf.writeUInt32LE(4, 64); // PT_NOTE
  elf.writeBigUInt64LE(BigInt(elf.length), 64 + 8); // p_offset
  elf.writeBigUInt64LE(BigInt(body.length), 64 + 32); // p_filesz
  return Buffer.concat([elf, body]);
}

t.test('the PVH entry note is found among the Xen notes', async (t) => {
  const entry = Buffer.alloc(4);
  t.ok(hasPvhEntry(elfWithNotes([{ name: 'GNU', type: 3, desc: Buffer.alloc(20) }, { name: 'Xen', type: 18, desc: entry }])), 'Xen note 18');
  t.notOk(hasPvhEntry(elfWithNotes([{ name: 'Xen', type: 17, desc: entry }])), 'another Xen note');
  t.notOk(hasPvhEntry(elfWithNotes([{ name: 'GNU', type: 18, desc: entry }])), 'type 18 of another owner');
  t.ok(isStaticElf(elfWithNotes([])), 'no PT_INTERP: static');
});

t.test("a bzImage's payload is found through the boot protocol header", async (t) => {
  const image = Buffer.alloc(5 * 512 + 64);
  image[0x1f1] = 4; // setup sectors: protected-mode code at (4 + 1) * 512
  image.write('HdrS', 0x202, 'latin1');
  image.writeUInt16LE(0x20f, 0x206);
  image.writeUInt32LE(16, 0x248); // payload_offset
  image.writeUInt32LE(12, 0x24c); // payload_length
  Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4, 0xaa, 0xbb, 0xcc, 0xdd]).copy(image, 5 * 512 + 16);
  t.same(bzImagePayload(image), { format: 'zstd', data: Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4]) }, 'zstd, without the 4-byte size the build appends');
  t.equal(bzImagePayload(Buffer.alloc(4096)), undefined, 'no HdrS: not a bzImage');
});

t.test('the guest init is valid busybox sh and asks for exactly the modules the guest needs', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-init-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'init'), GUEST_INIT);
  const r = await execa(await findStaticBusybox(), ['sh', '-n', join(dir, 'init')], { reject: false });
  t.equal(r.exitCode, 0, r.stderr || 'parses');
  t.same(GUEST_MODULES, ['virtio_pci', 'virtio_console', '9pnet_virtio', '9p', 'overlay', 'virtio_net']);
  for (const mount of ['tracefs', 'debugfs', 'bpf', 'cgroup2', 'devpts', 'proc', 'sysfs', 'overlay']) t.match(GUEST_INIT, new RegExp(`mount -t ${mount} `), `mounts ${mount}`);
});

import t from 'tap';
import { bzImageRelease, configProblems, elfSections, embeddedConfig, parseKernelConfig } from '../../vm/custom-kernel.js';
import { gzipSync } from 'node:zlib';

/** A bzImage's first bytes as the boot protocol lays them out: "HdrS" at 0x202, kernel_version at 0x20e (+0x200). */
function bootHeader(version: string): Buffer {
  const b = Buffer.alloc(0x400);
  b.write('HdrS', 0x202, 'latin1');
  b.writeUInt16LE(0x20f, 0x206);
  b.writeUInt16LE(0x100, 0x20e);
  b.write(`${version}\0`, 0x300, 'latin1');
  return b;
}

/** A minimal ELF64 with the named sections (and .shstrtab), as a kernel build lays out its vmlinux. */
function elfWith(sections: { name: string; size: number }[]): Buffer {
  const names = ['', ...sections.map((s) => s.name), '.shstrtab'];
  const strtab = Buffer.from(names.join('\0') + '\0', 'latin1');
  const shoff = 64 + strtab.length;
  const elf = Buffer.alloc(shoff + names.length * 64);
  elf.writeUInt32BE(0x7f454c46, 0);
  elf[4] = 2;
  elf[5] = 1;
  elf.writeBigUInt64LE(BigInt(shoff), 0x28);
  elf.writeUInt16LE(64, 0x3a);
  elf.writeUInt16LE(names.length, 0x3c);
  elf.writeUInt16LE(names.length - 1, 0x3e);
  strtab.copy(elf, 64);
  let nameAt = 0;
  names.forEach((name, i) => {
    const at = shoff + i * 64;
    elf.writeUInt32LE(nameAt, at);
    nameAt += Buffer.byteLength(name, 'latin1') + 1;
    if (i === names.length - 1) {
      elf.writeBigUInt64LE(64n, at + 0x18);
      elf.writeBigUInt64LE(BigInt(strtab.length), at + 0x20);
    } else if (i > 0) elf.writeBigUInt64LE(BigInt(sections[i - 1].size), at + 0x20);
  });
  return elf;
}

t.test("a bzImage's release is read from its boot header", async (t) => {
  t.equal(bzImageRelease(bootHeader('6.1.0-50-amd64 (debian-kernel@lists.debian.org) #1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1')), '6.1.0-50-amd64');
  t.equal(bzImageRelease(Buffer.alloc(0x400)), undefined, 'no HdrS: not a bzImage');
});

t.test("a vmlinux's sections are listed by name, so .BTF is found or missed", async (t) => {
  t.same(elfSections(elfWith([{ name: '.text', size: 4096 }, { name: '.BTF', size: 4351479 }, { name: '.BTF_ids', size: 1992 }])).map((s) => `${s.name}:${s.size}`), [':0', '.text:4096', '.BTF:4351479', '.BTF_ids:1992', '.shstrtab:31']);
  t.same(elfSections(Buffer.from('not an elf')), []);
});

t.test('the config is checked for what the tracers and the guest need, each gap in a sentence', async (t) => {
  const debian = parseKernelConfig(
    [
      'CONFIG_BPF_SYSCALL=y',
      'CONFIG_DEBUG_INFO_BTF=y',
      'CONFIG_BPF_EVENTS=y',
      'CONFIG_FTRACE_SYSCALLS=y',
      'CONFIG_VIRTIO_PCI=m',
      'CONFIG_VIRTIO_CONSOLE=m',
      'CONFIG_NET_9P=m',
      'CONFIG_NET_9P_VIRTIO=m',
      'CONFIG_9P_FS=m',
      'CONFIG_OVERLAY_FS=m',
    ].join('\n'),
  );
  t.same(configProblems(debian, { modules: true }), [], "Debian's layout: the guest's drivers as modules, with --modules");
  t.same(configProblems(debian, { modules: false }).length, 6, 'the same without --modules: six drivers it cannot load');
  const noBtf = parseKernelConfig('CONFIG_BPF_SYSCALL=y\n# CONFIG_DEBUG_INFO_BTF is not set\nCONFIG_BPF_EVENTS=y\nCONFIG_FTRACE_SYSCALLS=y\nCONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO_CONSOLE=y\nCONFIG_NET_9P=y\nCONFIG_NET_9P_VIRTIO=y\nCONFIG_9P_FS=y\nCONFIG_OVERLAY_FS=y\n');
  t.same(configProblems(noBtf, { modules: false }), ['CONFIG_DEBUG_INFO_BTF is not set (needed for BTF, which the CO-RE variants, bpftrace and the ts tool read: set it to y)']);
});

t.test('a config built into the kernel (IKCONFIG) is found between its markers', async (t) => {
  const vmlinux = Buffer.concat([Buffer.from('....IKCFG_ST'), gzipSync('CONFIG_DEBUG_INFO_BTF=y\n'), Buffer.from('IKCFG_ED....')]);
  t.equal(embeddedConfig(vmlinux), 'CONFIG_DEBUG_INFO_BTF=y\n');
  t.equal(embeddedConfig(Buffer.from('no config here')), undefined);
});

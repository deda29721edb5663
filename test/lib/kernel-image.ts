// Kernel images for the --kernel-image tests, made from the cached Debian ones (no kernel is built here).

import { execa } from 'execa';
import { readFile, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { bzImagePayload } from '../../vm/initramfs.js';

/**
 * A copy of a real bzImage whose vmlinux has no .BTF section: the section is renamed in the section-name table
 * (".BTF" → ".XTF", same length) and the payload re-compressed with gzip, the boot header's payload_length
 * patched. It is what a kernel built without CONFIG_DEBUG_INFO_BTF looks like to the check; it is never booted.
 */
export async function imageWithoutBtf(source: string, dest: string): Promise<void> {
  const image = await readFile(source);
  const payload = bzImagePayload(image);
  if (!payload || payload.format === 'other') throw new Error(`${source}: no xz/zstd/gzip payload`);
  const tool = payload.format === 'xz' ? ['xz', '-dc', '--single-stream'] : payload.format === 'zstd' ? ['zstd', '-dc'] : ['gzip', '-dc'];
  const elf = Buffer.from((await execa(tool[0], tool.slice(1), { input: payload.data, encoding: 'buffer', maxBuffer: 1 << 30 })).stdout);
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shstr = shoff + elf.readUInt16LE(0x3e) * elf.readUInt16LE(0x3a);
  const strOffset = Number(elf.readBigUInt64LE(shstr + 0x18));
  const strSize = Number(elf.readBigUInt64LE(shstr + 0x20));
  const at = elf.subarray(strOffset, strOffset + strSize).indexOf('\0.BTF\0');
  if (at < 0) throw new Error(`${source}: no .BTF section name to remove`);
  elf.write('.XTF', strOffset + at + 1, 'latin1');
  const gz = gzipSync(elf, { level: 1 });
  const setupSects = image[0x1f1] || 4;
  const start = (setupSects + 1) * 512 + image.readUInt32LE(0x248);
  const out = Buffer.concat([image.subarray(0, start), gz]);
  out.writeUInt32LE(gz.length, 0x24c);
  await writeFile(dest, out);
}

// A kernel the maintainer brings (`./lab matrix --kernel-image bzImage [--modules DIR]`): the kernel their
// students actually run. Checked before anything boots — its vmlinux must carry BTF (a .BTF section: every
// CO-RE variant, bpftrace and the ts tool read it), and when its config can be found, the options the
// tracers and the guest need must be set — then made a cache unit like a Debian kernel's (the image copied,
// the modules directory linked), so vm/qemu.ts boots it the same way. Headers are optional: with none
// (no DIR/build), BCC's variants skip with their reason.

import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, realpath, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EnvironmentError, UsageError } from '../lib/errors.js';
import { bzImagePayload } from './initramfs.js';
import { buildUnit, cacheDir, findTool, writeManifest, type CachedKernel } from './kernels.js';

/** `uname -r` of a bzImage, from its boot header's kernel_version string ("6.1.0-50-amd64 (debian-kernel@…) #1 …"). */
export function bzImageRelease(image: Buffer): string | undefined {
  if (image.length < 0x210 || image.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const at = image.readUInt16LE(0x20e) + 0x200;
  if (at >= image.length) return undefined;
  const text = image.toString('latin1', at, Math.min(image.length, at + 256)).split('\0')[0];
  const release = text.split(' ')[0];
  return /^\d+\.\d+\S*$/.test(release) ? release : undefined;
}

/** Section names and sizes of an ELF64 little-endian file (the kernel's vmlinux). */
export function elfSections(elf: Buffer): { name: string; size: number }[] {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return [];
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  if (!shoff || shoff + shnum * shentsize > elf.length || shstrndx >= shnum) return [];
  const header = (i: number) => {
    const at = shoff + i * shentsize;
    return { name: elf.readUInt32LE(at), offset: Number(elf.readBigUInt64LE(at + 0x18)), size: Number(elf.readBigUInt64LE(at + 0x20)) };
  };
  const strings = header(shstrndx);
  const out: { name: string; size: number }[] = [];
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    const start = strings.offset + h.name;
    out.push({ name: elf.toString('latin1', start, elf.indexOf(0, start)), size: h.size });
  }
  return out;
}

/** A kernel .config as option → value ('y', 'm', a string); "# CONFIG_X is not set" leaves X out. */
export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(CONFIG_\w+)=(.*)$/.exec(line.trim());
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

/** Options the tracers need built in, with why. */
export const REQUIRED_BUILTIN: [string, string][] = [
  ['CONFIG_BPF_SYSCALL', 'the bpf() system call'],
  ['CONFIG_DEBUG_INFO_BTF', 'BTF, which the CO-RE variants, bpftrace and the ts tool read'],
  ['CONFIG_BPF_EVENTS', 'BPF programs on tracepoints'],
  ['CONFIG_FTRACE_SYSCALLS', 'the syscall tracepoints (syscalls:sys_enter_execve)'],
];

/** Options the guest needs (the host's root over 9p with an overlay, its command's output over virtio-serial): built in, or modules. */
export const REQUIRED_GUEST: [string, string][] = [
  ['CONFIG_VIRTIO_PCI', 'virtio devices'],
  ['CONFIG_VIRTIO_CONSOLE', "the command's output ports"],
  ['CONFIG_NET_9P', '9p'],
  ['CONFIG_NET_9P_VIRTIO', '9p over virtio'],
  ['CONFIG_9P_FS', "the host's root over 9p"],
  ['CONFIG_OVERLAY_FS', 'the writable overlay on the shared root'],
];

/** What a config lacks for the matrix, one sentence each; `modules`: a modules directory was given, so =m will do. */
export function configProblems(config: Map<string, string>, opts: { modules: boolean }): string[] {
  const problems: string[] = [];
  for (const [opt, why] of REQUIRED_BUILTIN) if (config.get(opt) !== 'y') problems.push(`${opt} is ${config.get(opt) ?? 'not set'} (needed for ${why}: set it to y)`);
  for (const [opt, why] of REQUIRED_GUEST) {
    const v = config.get(opt);
    if (v === 'y' || (v === 'm' && opts.modules)) continue;
    problems.push(v === 'm' ? `${opt}=m but no --modules DIR was given (needed for ${why})` : `${opt} is not set (needed for ${why}: y, or m with --modules DIR)`);
  }
  return problems;
}

async function decompress(format: 'xz' | 'zstd' | 'gzip', data: Buffer, what: string): Promise<Buffer> {
  if (format === 'gzip') return gunzipSync(data);
  const tool = format === 'xz' ? ['xz', '-dc', '--single-stream'] : ['zstd', '-dc'];
  const r = await execa(tool[0], tool.slice(1), { input: data, encoding: 'buffer', reject: false, maxBuffer: 1 << 30, timeout: 120_000 });
  if (r.exitCode !== 0) throw new EnvironmentError(`decompress ${what}: ${(r as { code?: string }).code === 'ENOENT' ? `${tool[0]} is not installed` : Buffer.from(r.stderr).toString().trim() || r.shortMessage}`);
  return Buffer.from(r.stdout);
}

/** The config built into the kernel (CONFIG_IKCONFIG: gzip data between IKCFG_ST and IKCFG_ED), if any. */
export function embeddedConfig(vmlinux: Buffer): string | undefined {
  const start = vmlinux.indexOf('IKCFG_ST');
  if (start < 0) return undefined;
  const end = vmlinux.indexOf('IKCFG_ED', start);
  try {
    return gunzipSync(vmlinux.subarray(start + 8, end > 0 ? end : undefined)).toString('utf8');
  } catch {
    return undefined;
  }
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/** Module names of REQUIRED_GUEST's drivers, where each .ko lives in a kernel tree (for modules.builtin). */
const GUEST_BUILTIN_PATHS = ['kernel/drivers/virtio/virtio_pci.ko', 'kernel/drivers/char/virtio_console.ko', 'kernel/net/9p/9pnet.ko', 'kernel/net/9p/9pnet_virtio.ko', 'kernel/fs/9p/9p.ko', 'kernel/fs/overlayfs/overlay.ko', 'kernel/drivers/net/virtio_net.ko'];

export interface KernelImageOptions {
  /** The kernel's modules directory (lib/modules/<release>, after depmod); its build/ link, if it resolves, gives BCC headers. */
  modules?: string;
  onProgress?: (line: string) => void;
}

/**
 * Check a bzImage and make it a cache unit vm/qemu.ts can boot (runInVm's kernelFiles). Throws a UsageError
 * naming what is missing — no BTF, a config option, the modules — before any VM starts.
 */
export async function prepareKernelImage(imagePath: string, opts: KernelImageOptions = {}): Promise<CachedKernel> {
  const image = await readFile(imagePath).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`--kernel-image ${imagePath}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  const release = bzImageRelease(image);
  const payload = bzImagePayload(image);
  if (!release || !payload) throw new UsageError(`--kernel-image ${imagePath}: not an x86 bzImage (no boot header with a kernel version)`);
  if (payload.format === 'other') throw new UsageError(`--kernel-image ${imagePath}: its payload is compressed in a way this check cannot read (xz, zstd and gzip are read); rebuild with one of those`);
  const vmlinux = await decompress(payload.format, payload.data, imagePath);
  const sections = elfSections(vmlinux);
  if (sections.length === 0) throw new UsageError(`--kernel-image ${imagePath} (${release}): its vmlinux has no ELF section headers, so its BTF cannot be checked`);
  const btf = sections.find((s) => s.name === '.BTF');
  if (!btf || btf.size === 0) {
    throw new UsageError(`--kernel-image ${imagePath} (${release}): no BTF — its vmlinux has no .BTF section. The matrix's CO-RE variants, bpftrace and the ts tool need it: build the kernel with CONFIG_DEBUG_INFO_BTF=y (needs pahole)`);
  }
  let modulesDir: string | undefined;
  if (opts.modules) {
    modulesDir = await realpath(opts.modules).catch(() => undefined);
    if (!modulesDir || !(await stat(modulesDir)).isDirectory()) throw new UsageError(`--modules ${opts.modules}: not a directory`);
    if (!(await exists(join(modulesDir, 'modules.dep')))) throw new UsageError(`--modules ${opts.modules}: no modules.dep (run depmod -b ROOT ${release}, ROOT holding lib/modules/${release})`);
  }
  // The config: built in (IKCONFIG), beside the image (config-<release>, as /boot has it), or in the modules directory.
  const candidates = [join(dirname(imagePath), `config-${release}`), ...(modulesDir ? [join(modulesDir, 'config'), join(modulesDir, 'build', '.config')] : [])];
  let configText = embeddedConfig(vmlinux);
  let configFrom = configText ? 'its built-in config' : undefined;
  for (const c of candidates) {
    if (configText) break;
    configText = await readFile(c, 'utf8').catch(() => undefined);
    if (configText) configFrom = c;
  }
  if (configText) {
    const problems = configProblems(parseKernelConfig(configText), { modules: Boolean(modulesDir) });
    if (problems.length) throw new UsageError(`--kernel-image ${imagePath} (${release}), config ${configFrom}: ${problems.join('; ')}`);
  } else if (!modulesDir) {
    throw new UsageError(`--kernel-image ${imagePath} (${release}): give --modules DIR (lib/modules/${release}), or put its config beside it as config-${release} to show that 9p, virtio and overlayfs are built in`);
  }
  const sha = createHash('sha256').update(image).digest('hex');
  opts.onProgress?.(`kernel image ${imagePath}: ${release}, BTF ${btf.size} bytes${configFrom ? `, config from ${configFrom} checked` : ', no config found (BTF checked)'}${modulesDir ? `, modules ${modulesDir}` : ''}`);

  const unitDir = join(cacheDir(), 'kernels', 'images', sha.slice(0, 16));
  const modulesRel = `lib/modules/${release}`;
  await buildUnit(unitDir, async (tmp) => {
    const root = join(tmp, 'root');
    await mkdir(join(root, 'boot'), { recursive: true });
    await mkdir(join(root, 'lib', 'modules'), { recursive: true });
    await copyFile(imagePath, join(root, 'boot', `vmlinuz-${release}`));
    if (configText) await writeFile(join(root, 'boot', `config-${release}`), configText);
    if (modulesDir) {
      await symlink(modulesDir, join(root, modulesRel));
    } else {
      // Everything the guest needs is built in (the config said so): modprobe must say "builtin" for each.
      await mkdir(join(root, modulesRel), { recursive: true });
      await writeFile(join(root, modulesRel, 'modules.builtin'), GUEST_BUILTIN_PATHS.join('\n') + '\n');
      await writeFile(join(root, modulesRel, 'modules.order'), '');
      const r = await execa(await findTool('depmod'), ['-b', root, release], { reject: false, timeout: 60_000 });
      if (r.exitCode !== 0) throw new EnvironmentError(`depmod ${release}: ${r.stderr.trim() || r.shortMessage}`);
    }
    const paths: Record<string, string> = { vmlinuz: `boot/vmlinuz-${release}`, modules: modulesRel };
    if (configText) paths.config = `boot/config-${release}`;
    await writeManifest(tmp, { kind: 'kernel', name: `image-${release}`, suite: 'image', release, debianVersion: `image sha256:${sha.slice(0, 16)}`, packages: [], paths });
  });
  const root = join(unitDir, 'root');
  const kernel: CachedKernel = {
    name: `image-${release}`,
    suite: 'image',
    release,
    debianVersion: `${imagePath} (sha256 ${sha.slice(0, 16)})`,
    dir: unitDir,
    vmlinuz: join(root, 'boot', `vmlinuz-${release}`),
    modulesDir: modulesDir ?? join(root, modulesRel),
    config: configText ? join(root, 'boot', `config-${release}`) : undefined,
    bytes: image.length,
  };
  const build = modulesDir ? await realpath(join(modulesDir, 'build')).catch(() => undefined) : undefined;
  if (build && (await exists(join(build, 'Makefile')))) {
    const source = await realpath(join(modulesDir!, 'source')).catch(() => undefined);
    kernel.headers = { dir: build, sourceDir: source, paths: [], bytes: 0 };
  }
  opts.onProgress?.(kernel.headers ? `kernel image ${release}: headers at ${kernel.headers.dir} (BCC can compile)` : `kernel image ${release}: no headers (no ${modulesDir ?? 'modules directory'}/build): BCC's variants will skip`);
  return kernel;
}

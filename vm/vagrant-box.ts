// `./lab vm vagrant-box`: the project's own Vagrant box for the libvirt provider, built offline from
// Debian packages (no box is downloaded): debvm-create (mmdebstrap) makes an ext4 image of Debian 12
// with everything the harness needs inside (the packages ./lab installs, the kernel's headers for BCC,
// the host's own Node, Jupyter), qemu-img makes it the box's qcow2, and the box boots its kernel
// directly (debvm installs no bootloader). The box is cached under cacheDir() by a hash of its inputs,
// so a second run builds nothing.

import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { EnvironmentError } from '../lib/errors.js';
import { cacheDir, withLock } from './cache.js';

/** Bump when the recipe below changes in a way the hashed inputs do not show. */
const RECIPE = 4;

export const BOX_NAME = 'ebpf-lab/debian12';
const SUITE = 'bookworm';
const MIRRORS = [
  `deb http://deb.debian.org/debian ${SUITE} main`,
  `deb http://deb.debian.org/debian ${SUITE}-updates main`,
  `deb http://security.debian.org/debian-security ${SUITE}-security main`,
];
/** Disk size the guest sees; the qcow2 holds only what is used. */
const DISK_GB = 8;

/** What building the box needs on this machine (Debian packages, installed when missing). */
export const BOX_BUILD_PACKAGES = ['debvm', 'mmdebstrap', 'qemu-utils', 'dpkg-repack', 'vagrant'];

/**
 * Packages in the guest beyond ./lab's own list: the kernel and its headers (BCC compiles against
 * them), what Vagrant needs (sshd, sudo, rsync for the synced folder) and Jupyter for the notebooks.
 * Left out: QEMU (the guest runs `./lab compare --target host`, it boots no VM of its own) and Chromium
 * (only the notebooks' UI test drives a browser, on the host).
 */
const GUEST_EXTRA = ['linux-image-amd64', 'linux-headers-amd64', 'openssh-server', 'sudo', 'rsync', 'ca-certificates', 'jupyter-notebook', 'python3-nbclient', 'python3-nbconvert'];
const GUEST_LEAVE_OUT = new Set(['qemu-system-x86', 'chromium']);

export interface BoxFiles {
  /** The .box file (a tar: metadata.json, Vagrantfile, box.img, vmlinuz, initrd.img) to `vagrant box add`. */
  box: string;
  /** The hash of the inputs, which names the cache directory. */
  key: string;
  /** False when it was already in the cache. */
  built: boolean;
  ms: number;
}

type Log = (line: string) => void;

/** Installs the Debian packages in `names` that are missing (as ./lab does for its own list). */
export async function ensureDebianPackages(names: string[], log: Log): Promise<void> {
  const q = await execa('dpkg-query', ['-W', '-f=${Package} ${Status}\n', ...names], { reject: false });
  const installed = new Set(String(q.stdout).split('\n').filter((l) => l.endsWith(' install ok installed')).map((l) => l.split(' ')[0]));
  const missing = names.filter((n) => !installed.has(n));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new EnvironmentError(`missing Debian packages (${missing.join(' ')}): run as root or: sudo apt-get install ${missing.join(' ')}`);
  log(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const r = await execa('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', ...missing], { reject: false, all: true, env });
  if (r.exitCode !== 0) throw new EnvironmentError(`apt-get install ${missing.join(' ')} failed:\n${String(r.all).split('\n').slice(-10).join('\n')}`);
}

/** The guest's packages: ./lab's list (the same tools as the host) plus GUEST_EXTRA. */
export async function guestPackages(root: string): Promise<string[]> {
  const r = await execa(join(root, 'lab'), ['--print-debian-packages'], { cwd: root });
  const own = String(r.stdout).split('\n').filter(Boolean).filter((p) => !GUEST_LEAVE_OUT.has(p));
  return [...new Set([...own, ...GUEST_EXTRA])].sort();
}

/**
 * The host's Node, as a Debian package: Debian 12's own nodejs is 18 and the project needs ≥ 20.5, so
 * the box gets the very package the host runs (here NodeSource's, whose archive this machine cannot
 * reach any more), rebuilt from the installed files by dpkg-repack and cached by its version.
 */
async function nodePackage(dir: string, log: Log): Promise<{ deb: string; version: string }> {
  const q = await execa('dpkg-query', ['-W', '-f=${Version} ${Status}', 'nodejs'], { reject: false });
  const [version, ...status] = String(q.stdout).split(' ');
  if (q.exitCode !== 0 || status.join(' ') !== 'install ok installed') {
    throw new EnvironmentError('vagrant box: the box takes Node from this machine’s Debian package "nodejs", which is not installed (install Node ≥ 20.5 from NodeSource: https://github.com/nodesource/distributions)');
  }
  const [major, minor] = version.replace(/^\d+:/, '').split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 5)) throw new EnvironmentError(`vagrant box: this machine’s nodejs package is ${version}; the project needs Node ≥ 20.5 (NodeSource’s node_20.x or newer)`);
  const debDir = join(dir, `nodejs-${version.replace(/[^A-Za-z0-9.+~-]/g, '_')}`);
  const found = (await readdir(debDir).catch(() => [] as string[])).find((n) => n.endsWith('.deb'));
  if (found) return { deb: join(debDir, found), version };
  log(`packing this machine’s Node (nodejs ${version}) with dpkg-repack`);
  const tmp = `${debDir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  // uncompressed: xz took 3 minutes for 32 MB here, and mmdebstrap unpacks it once
  const r = await execa('dpkg-repack', ['--deb-option=-Znone', 'nodejs'], { cwd: tmp, reject: false, all: true });
  const deb = (await readdir(tmp)).find((n) => n.endsWith('.deb'));
  if (r.exitCode !== 0 || !deb) throw new EnvironmentError(`dpkg-repack nodejs failed:\n${String(r.all).split('\n').slice(-5).join('\n')}`);
  await rm(debDir, { recursive: true, force: true });
  await rename(tmp, debDir);
  return { deb: join(debDir, deb), version };
}

/** The box's own Vagrantfile: vagrant-libvirt boots the image's kernel directly (there is no bootloader). */
export const BOX_VAGRANTFILE = `# The ebpf-lab box (./lab vm vagrant-box): Debian 12 built by debvm, booted without a bootloader.
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |lv|
    lv.kernel = File.join(__dir__, "vmlinuz")
    lv.initrd = File.join(__dir__, "initrd.img")
    lv.cmd_line = "root=/dev/vda rw console=ttyS0"
  end
end
`;

function vagrantPublicKey(): string {
  // Vagrant's well-known insecure key, which `vagrant up` replaces with a fresh one on first boot
  for (const p of ['/usr/share/rubygems-integration/all/gems', '/opt/vagrant/embedded/gems/gems']) {
    if (!existsSync(p)) continue;
    for (const entry of readdirSync(p)) if (/^vagrant-\d/.test(entry) && existsSync(join(p, entry, 'keys', 'vagrant.pub'))) return join(p, entry, 'keys', 'vagrant.pub');
  }
  throw new EnvironmentError('vagrant box: Vagrant’s insecure public key (keys/vagrant.pub) was not found: apt-get install vagrant');
}

/** The mmdebstrap hooks that make the image a Vagrant box: the vagrant user with the insecure key, sudo. */
function customizeHooks(pubKey: string, out: string): string[] {
  return [
    'chroot "$1" useradd -m -s /bin/bash vagrant',
    'mkdir -m700 -p "$1/home/vagrant/.ssh"',
    `upload ${pubKey} /home/vagrant/.ssh/authorized_keys`,
    'chroot "$1" chown -R vagrant:vagrant /home/vagrant/.ssh',
    'echo "vagrant ALL=(ALL) NOPASSWD: ALL" > "$1/etc/sudoers.d/vagrant"; chmod 440 "$1/etc/sudoers.d/vagrant"',
    // the guest's apt knows the same Debian archive (for a student who adds packages later)
    `printf '%s\\n' ${MIRRORS.map((m) => `'${m}'`).join(' ')} > "$1/etc/apt/sources.list"`,
    `cp "$1"/boot/vmlinuz-* ${out}/vmlinuz && cp "$1"/boot/initrd.img-* ${out}/initrd.img`,
  ];
}

/**
 * Runs a build step in a process group of its own, output to `logFile`: debvm-create is a shell script
 * whose mmdebstrap, apt and genext2fs would outlive a kill of the script alone (and keep its output pipe
 * open). An abort sends SIGTERM to the whole group (mmdebstrap then removes its mounts and temporary
 * root), SIGKILL 60 s later.
 */
async function runGroup(file: string, args: string[], logFile: string, signal?: AbortSignal): Promise<number> {
  const out = createWriteStream(logFile);
  const child = execa(file, args, { reject: false, all: true, buffer: false, detached: true, stdin: 'ignore' });
  child.all?.pipe(out);
  const killGroup = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  };
  let hard: NodeJS.Timeout | undefined;
  const onAbort = () => {
    killGroup('SIGTERM');
    hard = setTimeout(() => killGroup('SIGKILL'), 60_000);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const r = await child;
    signal?.throwIfAborted();
    return r.exitCode ?? 1;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    clearTimeout(hard);
    out.end();
  }
}

async function sha256File(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/**
 * Builds the box unless the cache has one for the same inputs: the package list, the mirrors, the
 * host's Node version, Vagrant's key and the recipe. `rebuild` builds anyway (a Debian point release).
 */
export async function ensureBox(opts: { root: string; rebuild?: boolean; log?: Log; signal?: AbortSignal }): Promise<BoxFiles> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`lab vm vagrant-box: ${l}\n`));
  const started = Date.now();
  await ensureDebianPackages(BOX_BUILD_PACKAGES, log);
  const boxesDir = join(cacheDir(), 'vagrant', 'boxes');
  await mkdir(boxesDir, { recursive: true });
  const packages = await guestPackages(opts.root);
  const node = await nodePackage(join(cacheDir(), 'vagrant', 'debs'), log);
  const pubKey = vagrantPublicKey();
  const key = createHash('sha256')
    .update(JSON.stringify({ RECIPE, SUITE, MIRRORS, DISK_GB, packages, node: node.version, pub: await sha256File(pubKey), vagrantfile: BOX_VAGRANTFILE }))
    .digest('hex')
    .slice(0, 16);
  const dir = join(boxesDir, key);
  const box = join(dir, 'ebpf-lab-debian12.box');
  return withLock(join(boxesDir, `${key}.lock`), async () => {
    if (!opts.rebuild && existsSync(box)) return { box, key, built: false, ms: Date.now() - started };
    // a build killed half-way (SIGKILL) leaves its directory: the next build removes it
    for (const name of await readdir(boxesDir)) if (name.startsWith(`${key}.build-`)) await rm(join(boxesDir, name), { recursive: true, force: true });
    const work = await mkdtemp(join(boxesDir, `${key}.build-`));
    const logFile = join(boxesDir, `${key}.build.log`);
    try {
      log(`building the box ${key} (Debian ${SUITE}, ${packages.length + 1} packages and their dependencies; log: ${logFile})`);
      const tarball = join(work, 'root.tar');
      const args = [
        // the root as a tarball (-s ext4): debvm's own ext2 step (genext2fs) had not finished after 5 minutes here for
        // this many files; mke2fs -d below does it in seconds
        '-o', tarball, '-r', SUITE, '-h', 'ebpf-lab', '-s', 'ext4',
        '--',
        `--include=${packages.join(',')}`,
        `--include=${node.deb}`,
        // makes the local .deb visible inside the chroot, where dpkg opens it
        '--hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount',
        ...customizeHooks(pubKey, work).map((h) => `--customize-hook=${h}`),
        ...MIRRORS,
      ];
      const r = await runGroup('debvm-create', args, logFile, opts.signal);
      if (r !== 0) {
        const tail = (await readFile(logFile, 'utf8')).split('\n').filter(Boolean).slice(-12).join('\n');
        throw new EnvironmentError(`vagrant box: debvm-create failed (exit ${r}; log: ${logFile}):\n${tail}`);
      }
      log('making the ext4 image');
      const rootDir = join(work, 'root');
      const image = join(work, 'root.ext4');
      await mkdir(rootDir);
      const x = await execa('tar', ['-C', rootDir, '--numeric-owner', '--xattrs', '--xattrs-include=*', '-xpf', tarball], { reject: false, all: true, cancelSignal: opts.signal });
      if (x.exitCode !== 0) throw new EnvironmentError(`vagrant box: unpack the root tarball: ${x.all}`);
      await rm(tarball);
      await mkdir(join(rootDir, 'dev'), { recursive: true }); // devtmpfs is mounted there at boot
      // the label is the one debvm's fstab names
      const m = await execa('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'debvm', '-d', rootDir, image, `${DISK_GB}G`], { reject: false, all: true, cancelSignal: opts.signal });
      if (m.exitCode !== 0) throw new EnvironmentError(`vagrant box: mke2fs -d failed: ${m.all}`);
      await rm(rootDir, { recursive: true, force: true });
      log('converting the image to qcow2');
      const img = join(work, 'box.img');
      const c = await execa('qemu-img', ['convert', '-O', 'qcow2', image, img], { reject: false, all: true, cancelSignal: opts.signal });
      if (c.exitCode !== 0) throw new EnvironmentError(`vagrant box: qemu-img convert failed: ${c.all}`);
      await rm(image);
      await writeFile(join(work, 'metadata.json'), JSON.stringify({ provider: 'libvirt', format: 'qcow2', virtual_size: DISK_GB }) + '\n');
      await writeFile(join(work, 'Vagrantfile'), BOX_VAGRANTFILE);
      await writeFile(join(work, 'info.json'), JSON.stringify({ key, suite: SUITE, node: node.version, packages, builtAt: new Date().toISOString() }, null, 1) + '\n');
      const tarTmp = join(work, 'box.tar');
      // uncompressed: the qcow2 is the bulk and `vagrant box add` unpacks it at disk speed
      const t = await execa('tar', ['-C', work, '-cf', tarTmp, 'metadata.json', 'Vagrantfile', 'info.json', 'box.img', 'vmlinuz', 'initrd.img'], { reject: false, all: true });
      if (t.exitCode !== 0) throw new EnvironmentError(`vagrant box: tar failed: ${t.all}`);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      await rename(tarTmp, box);
      await rename(join(work, 'info.json'), join(dir, 'info.json'));
      return { box, key, built: true, ms: Date.now() - started };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, { waitMs: 60 * 60_000, onWait: () => log('another process is building this box; waiting') });
}

export async function boxBytes(box: string): Promise<number> {
  return (await stat(box)).size;
}

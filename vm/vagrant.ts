// The Vagrant VM: vm/Vagrantfile brought up with vagrant-libvirt (or VirtualBox), commands run in it
// over ssh, the VM destroyed afterwards. Where no libvirtd runs (this machine has no systemd), a private
// one is started for the run: libvirtd and virtlogd inside a network namespace made for it (so the
// management network, 192.168.121.0/24, exists only there) and a mount namespace where /etc/libvirt,
// /run/libvirt, /var/lib/libvirt, … are a temporary directory (so QEMU runs as root, no system state is
// touched, and removing the directory removes everything). vagrant and ssh join those namespaces.

import { execa, type Options, type ResultPromise } from 'execa';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError, UsageError } from '../lib/errors.js';
import { diesWithUs } from '../lib/process.js';
import { cacheDir } from './cache.js';
import { qemuVersion } from './qemu.js';
import { parseQemuVersion, tcgRaceFixed } from './qemu-build.js';
import { BOX_NAME, ensureBox, ensureDebianPackages } from './vagrant-box.js';

type Log = (line: string) => void;

/** What the libvirt provider needs on this machine (Debian), installed when missing. */
export const LIBVIRT_PACKAGES = ['vagrant', 'vagrant-libvirt', 'libvirt-daemon-system', 'dnsmasq-base', 'qemu-system-x86', 'qemu-utils', 'iproute2'];

const NETNS_PREFIX = 'ebpf-lab-vg-';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface VagrantOptions {
  /** The project root: vm/Vagrantfile is there, and it is what gets synced into the guest. */
  root: string;
  /** 'libvirt' (default, also $LAB_VAGRANT_PROVIDER / $VAGRANT_DEFAULT_PROVIDER) or 'virtualbox'. */
  provider?: string;
  /** The box (default $LAB_VAGRANT_BOX, else the project's own, built when missing). */
  box?: string;
  /** 'kvm' | 'tcg' (libvirt only); default: the caller's probe. */
  accel: 'kvm' | 'tcg';
  log?: Log;
  signal?: AbortSignal;
}

/** The guest path the project is synced to (vm/Vagrantfile). */
export const GUEST_ROOT = '/home/vagrant/ebpf-lab';

/** Stale private namespaces of lab processes that died without cleaning up (SIGKILL): their processes and the namespace go. */
export async function pruneNamespaces(): Promise<void> {
  const r = await execa('ip', ['netns', 'list'], { reject: false });
  for (const line of String(r.stdout).split('\n')) {
    const name = line.split(' ')[0];
    const pid = Number(name.startsWith(NETNS_PREFIX) ? name.slice(NETNS_PREFIX.length) : NaN);
    if (!pid || pid === process.pid || alive(pid)) continue;
    await removeNamespace(name);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills every process in the network namespace (libvirtd, virtlogd, dnsmasq, QEMU) and deletes it. */
async function removeNamespace(name: string): Promise<void> {
  const killed = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const pids = String((await execa('ip', ['netns', 'pids', name], { reject: false })).stdout).split('\n').map(Number).filter((p) => p > 0);
    if (pids.length === 0) break;
    for (const pid of pids) {
      killed.add(pid);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await sleep(100);
  }
  await execa('ip', ['netns', 'del', name], { reject: false });
  // dnsmasq and virtlogd were reparented: they stay zombies until init reaps them, so wait for that
  // too, and "no process left" holds once we return
  for (let i = 0; i < 100 && [...killed].some(alive); i++) await sleep(100);
}

/** libvirtd.conf and qemu.conf of the private daemon: QEMU as root (the box is under /root), no cgroups (no systemd). */
const QEMU_CONF = `user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
`;
const LIBVIRTD_CONF = `unix_sock_group = "root"
auth_unix_rw = "none"
`;

/**
 * The shell run inside the new network namespace: private libvirt directories, then the daemons. The
 * storage pool's directory is kept in the cache, so the box's volume is uploaded once, not every run.
 */
function daemonsScript(state: string, images: string): string {
  const binds = [['etc', '/etc/libvirt'], ['run', '/run/libvirt'], ['lib', '/var/lib/libvirt'], ['log', '/var/log/libvirt'], ['cache', '/var/cache/libvirt']];
  return [
    'set -e',
    'ip link set lo up',
    ...binds.map(([d, target]) => `mkdir -p ${state}/${d} ${target} && mount --bind ${state}/${d} ${target}`),
    `mkdir -p /var/lib/libvirt/images && mount --bind ${images} /var/lib/libvirt/images`,
    // virtlogd dies with libvirtd (its parent once this shell execs); QEMU and dnsmasq are killed by namespace
    'setpriv --pdeathsig KILL virtlogd &',
    'exec libvirtd',
  ].join('\n');
}

/** A libvirtd of our own in its own network and mount namespaces. */
class PrivateLibvirt {
  readonly netns = `${NETNS_PREFIX}${process.pid}`;
  private daemon?: ResultPromise;
  private constructor(readonly state: string) {}

  /** `keepVolume`: which files of the kept storage pool are still wanted (the current box's volume). */
  static async start(log: Log, keepVolume: (name: string) => boolean, signal?: AbortSignal): Promise<PrivateLibvirt> {
    await pruneNamespaces();
    const images = join(cacheDir(), 'vagrant', 'libvirt-images');
    await mkdir(images, { recursive: true });
    // older boxes' volumes, and the disk of a VM whose run was killed before it could destroy it
    for (const name of await readdir(images)) if (!keepVolume(name)) await rm(join(images, name), { force: true });
    const state = await mkdtemp(join(tmpdir(), `ebpf-lab-libvirt-${process.pid}-`));
    const lv = new PrivateLibvirt(state);
    try {
      await mkdir(join(state, 'etc'), { recursive: true });
      await writeFile(join(state, 'etc', 'qemu.conf'), QEMU_CONF);
      await writeFile(join(state, 'etc', 'libvirtd.conf'), LIBVIRTD_CONF);
      await removeNamespace(lv.netns);
      const add = await execa('ip', ['netns', 'add', lv.netns], { reject: false });
      if (add.exitCode !== 0) throw new EnvironmentError(`ip netns add ${lv.netns}: ${add.stderr} (the private libvirt needs root and network namespaces)`);
      log(`starting a private libvirtd in network namespace ${lv.netns}`);
      lv.daemon = execa(...diesWithUs('ip', ['netns', 'exec', lv.netns, 'sh', '-c', daemonsScript(state, images)]), { reject: false, all: true, stdin: 'ignore' });
      void lv.daemon.catch(() => {});
      const deadline = Date.now() + 60_000;
      for (;;) {
        signal?.throwIfAborted();
        const r = await execa(...lv.wrap('virsh', ['-c', 'qemu:///system', 'uri']), { reject: false });
        if (r.exitCode === 0) break;
        if (lv.daemon.exitCode !== null) throw new EnvironmentError(`libvirtd exited at once: ${String((await lv.daemon).all).split('\n').slice(-5).join(' / ')}`);
        if (Date.now() > deadline) throw new EnvironmentError(`libvirtd did not answer within 60 s: ${r.stderr}`);
        await sleep(250);
      }
      return lv;
    } catch (err) {
      await lv.stop();
      throw err;
    }
  }

  /** `file args` run inside the daemon's network and mount namespaces. */
  wrap(file: string, args: string[]): [string, string[]] {
    const pid = this.daemon?.pid;
    if (!pid) throw new Error('private libvirt: not started');
    return ['nsenter', ['-t', String(pid), '-m', '-n', '--wd=' + process.cwd(), file, ...args]];
  }

  async stop(): Promise<void> {
    await removeNamespace(this.netns);
    this.daemon?.kill('SIGKILL');
    await this.daemon?.catch(() => {});
    await rm(this.state, { recursive: true, force: true });
  }
}

export interface VagrantVm {
  provider: string;
  box: string;
  /** vagrant up's wall time, or 0 when the VM was already running. */
  upMs: number;
  /** Runs a shell command line in the guest over ssh; its stdout/stderr stream to ours. */
  ssh(command: string, opts?: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream; signal?: AbortSignal; encoding?: 'buffer' }): Promise<{ exitCode: number; stdout?: Buffer }>;
  /** Syncs the project folder into the guest again (vagrant rsync). */
  sync(): Promise<void>;
  /** Destroys the VM (when this run brought it up) and the private libvirt; idempotent. */
  stop(): Promise<void>;
  /** The libvirt domain names that exist now (for the test). */
  domains(): Promise<string[]>;
}

async function which(cmd: string): Promise<boolean> {
  return (await execa('sh', ['-c', `command -v ${cmd}`], { reject: false })).exitCode === 0;
}

/** Checks what the provider needs and installs it on Debian; says what to do when it cannot. */
async function checkProvider(provider: string, log: Log): Promise<void> {
  const debianRoot = process.getuid?.() === 0 && (await which('apt-get'));
  if (provider === 'libvirt' && debianRoot) await ensureDebianPackages(LIBVIRT_PACKAGES, log);
  if (!(await which('vagrant'))) throw new EnvironmentError('Vagrant is not installed: apt-get install vagrant (Debian), or https://developer.hashicorp.com/vagrant/install');
  if (provider === 'libvirt') {
    const plugins = await execa('vagrant', ['plugin', 'list'], { reject: false });
    if (!/vagrant-libvirt/.test(String(plugins.stdout))) {
      throw new EnvironmentError('no Vagrant provider: the vagrant-libvirt plugin is missing (apt-get install vagrant-libvirt libvirt-daemon-system, or vagrant plugin install vagrant-libvirt); or use VirtualBox: LAB_VAGRANT_PROVIDER=virtualbox');
    }
    if (!(await which('libvirtd')) && !(await which('virtqemud'))) throw new EnvironmentError('no libvirt daemon: apt-get install libvirt-daemon-system');
  } else if (provider === 'virtualbox') {
    if (!(await which('VBoxManage'))) throw new EnvironmentError('no Vagrant provider: VirtualBox is not installed (https://www.virtualbox.org/wiki/Downloads), or use libvirt: LAB_VAGRANT_PROVIDER=libvirt');
  } else {
    throw new UsageError(`LAB_VAGRANT_PROVIDER must be libvirt or virtualbox, not "${provider}"`);
  }
}

/** Adds the project's box to Vagrant unless this very build is there (its version is its build time). */
async function addProjectBox(root: string, env: Record<string, string>, log: Log, signal?: AbortSignal): Promise<string> {
  const built = await ensureBox({ root, log: (l) => log(`box: ${l}`), signal });
  const info = JSON.parse(await readFile(join(built.box, '..', 'info.json'), 'utf8')) as { builtAt: string };
  const version = `1.0.${Math.floor(Date.parse(info.builtAt) / 1000)}`;
  const list = await execa('vagrant', ['box', 'list', '--machine-readable'], { reject: false, env });
  if (String(list.stdout).includes(`box-version,${version}`) && String(list.stdout).includes(`box-name,${BOX_NAME}`)) return version;
  // a catalog file gives the box a version, so a rebuilt box is never mistaken for the old one
  const catalog = join(built.box, '..', 'catalog.json');
  await writeFile(catalog, JSON.stringify({ name: BOX_NAME, versions: [{ version, providers: [{ name: 'libvirt', url: `file://${built.box}` }] }] }));
  log(`adding the box ${BOX_NAME} ${version} to Vagrant`);
  const r = await execa('vagrant', ['box', 'add', '--force', catalog], { reject: false, all: true, env, cancelSignal: signal });
  if (r.exitCode !== 0) throw new EnvironmentError(`vagrant box add ${catalog}: ${lastLines(String(r.all), 5)}`);
  return version;
}

function lastLines(text: string, n: number): string {
  // vagrant's progress lines are carriage-return updates: keep the real lines
  return text.split(/\r|\n/).map((l) => l.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').trim()).filter((l) => l && !/^Progress:/.test(l)).slice(-n).join('\n');
}

/** Vagrant's own words for the problems a user meets, turned into what to do. */
export function explainUpFailure(output: string, box: string, provider: string): string {
  if (/box .* could not be found|could not be found or\s+could not be accessed|The box '[^']*' could not be found/i.test(output)) {
    return `no box "${box}" and no way to download it: build the project's box with ./lab vm vagrant-box, or set LAB_VAGRANT_BOX to a box from vagrant box list`;
  }
  if (/VT-x|AMD-V|nested|Hardware acceleration is not available|kvm.*(not available|permission)/i.test(output)) {
    return provider === 'virtualbox'
      ? 'no hardware virtualization for VirtualBox (nested virtualization is off in this VM or VT-x/AMD-V is disabled in the firmware): enable it, or use libvirt, which falls back to TCG'
      : 'KVM is not usable here (no nested virtualization): run with LAB_ACCEL=tcg (slow but works)';
  }
  return lastLines(output, 15);
}

/** Brings the VM up (with a private libvirt when none runs) and returns a handle to run commands in it. */
export async function startVagrant(o: VagrantOptions): Promise<VagrantVm> {
  const log = o.log ?? ((l: string) => process.stderr.write(`lab vagrant: ${l}\n`));
  const provider = o.provider ?? process.env.LAB_VAGRANT_PROVIDER ?? process.env.VAGRANT_DEFAULT_PROVIDER ?? 'libvirt';
  const box = o.box ?? process.env.LAB_VAGRANT_BOX ?? (provider === 'virtualbox' ? 'debian/bookworm64' : BOX_NAME);
  await checkProvider(provider, log);
  const runDir = await mkdtemp(join(tmpdir(), `ebpf-lab-vagrant-${process.pid}-`));
  const serialLog = join(cacheDir(), 'runs', `vagrant-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.console.log`);
  await mkdir(join(cacheDir(), 'runs'), { recursive: true });
  const env: Record<string, string> = {
    VAGRANT_CWD: join(o.root, 'vm'),
    // the machine's state lives with this run: the VM does not outlive it
    VAGRANT_DOTFILE_PATH: join(runDir, 'dot'),
    VAGRANT_DEFAULT_PROVIDER: provider,
    LAB_VAGRANT_BOX: box,
    LAB_ACCEL: o.accel,
    LAB_VAGRANT_SERIAL_LOG: serialLog,
    VAGRANT_NO_COLOR: '1',
    VAGRANT_CHECKPOINT_DISABLE: '1',
  };
  if (o.accel === 'tcg' && provider === 'libvirt' && !process.env.LAB_VAGRANT_CPUS) {
    // libvirt runs the system's QEMU; with the multi-threaded TCG race (vm/qemu-build.ts) one vCPU has no
    // other vCPU to run stale code while the guest kernel patches itself
    const v = parseQemuVersion(await qemuVersion());
    if (!(v && tcgRaceFixed(v))) {
      env.LAB_VAGRANT_CPUS = '1';
      log(`libvirt's QEMU ${v?.join('.') ?? ''} has the multi-threaded TCG race: the VM gets one vCPU (LAB_VAGRANT_CPUS overrides)`);
    }
  }
  let libvirt: PrivateLibvirt | undefined;
  let up = false;
  let stopped = false;
  const wrap = (file: string, args: string[]): [string, string[]] => (libvirt ? libvirt.wrap(file, args) : [file, args]);
  const vagrant = (args: string[], opts: Options = {}) => execa(...wrap('vagrant', args), { reject: false, all: true, env, stdin: 'ignore', ...opts });

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (up) {
      const d = await vagrant(['destroy', '-f'], { timeout: 180_000 });
      if (d.exitCode !== 0) log(`vagrant destroy: ${lastLines(String(d.all), 3)}`);
    }
    await libvirt?.stop();
    await rm(runDir, { recursive: true, force: true });
  };

  try {
    const version = box === BOX_NAME ? await addProjectBox(o.root, env, log, o.signal) : undefined;
    if (provider === 'libvirt') {
      const system = await execa('virsh', ['-c', 'qemu:///system', 'uri'], { reject: false, timeout: 10_000 });
      // vagrant-libvirt names a box's volume BOX-VAGRANTSLASH-…_vagrant_box_image_VERSION_box.img
      const boxVolume = `${box.replace('/', '-VAGRANTSLASH-')}_vagrant_box_image_${version ?? ''}`;
      const keep = (name: string) => version !== undefined && name.startsWith(boxVolume);
      if (system.exitCode !== 0 || process.env.LAB_VAGRANT_PRIVATE_LIBVIRT === '1') libvirt = await PrivateLibvirt.start(log, keep, o.signal);
      else log('using the running libvirtd (qemu:///system)');
    }
    log(`vagrant up --provider ${provider} (box ${box}, ${o.accel}${o.accel === 'tcg' ? ': no usable KVM, expect minutes' : ''}; console: ${serialLog})`);
    const started = Date.now();
    up = true;
    const r = await vagrant(['up', '--provider', provider], { cancelSignal: o.signal, timeout: 30 * 60_000 });
    o.signal?.throwIfAborted();
    if (r.exitCode !== 0) throw new EnvironmentError(`vagrant up (${provider}, box ${box}): ${explainUpFailure(String(r.all), box, provider)}`);
    const upMs = Date.now() - started;
    log(`the VM is up after ${(upMs / 1000).toFixed(0)} s`);
    const cfg = await vagrant(['ssh-config']);
    if (cfg.exitCode !== 0) throw new EnvironmentError(`vagrant ssh-config: ${lastLines(String(cfg.all), 5)}`);
    const sshConfig = join(runDir, 'ssh_config');
    await writeFile(sshConfig, String(cfg.stdout));
    const ssh: VagrantVm['ssh'] = async (command, opts = {}) => {
      // plain ssh with vagrant's configuration: each `vagrant ssh` costs seconds of Ruby start-up, and ssh keeps stdout and stderr apart
      const child = execa(...wrap('ssh', ['-F', sshConfig, '-o', 'ServerAliveInterval=30', 'default', command]), {
        reject: false,
        stdin: 'ignore',
        cancelSignal: opts.signal ?? o.signal,
        buffer: opts.encoding === 'buffer',
        encoding: 'buffer',
        // an output nobody reads would fill its pipe and stall the guest
        stdout: opts.stdout || opts.encoding === 'buffer' ? 'pipe' : 'ignore',
        stderr: opts.stderr ? 'pipe' : 'ignore',
      });
      if (opts.stdout) child.stdout?.pipe(opts.stdout, { end: false });
      if (opts.stderr) child.stderr?.pipe(opts.stderr, { end: false });
      const res = await child;
      (opts.signal ?? o.signal)?.throwIfAborted();
      return { exitCode: res.exitCode ?? 255, stdout: opts.encoding === 'buffer' ? Buffer.from(res.stdout as Uint8Array) : undefined };
    };
    return {
      provider,
      box,
      upMs,
      ssh,
      async sync() {
        const s = await vagrant(['rsync'], { cancelSignal: o.signal });
        if (s.exitCode !== 0) throw new EnvironmentError(`vagrant rsync: ${lastLines(String(s.all), 5)}`);
      },
      stop,
      async domains() {
        const d = await execa(...wrap('virsh', ['-c', 'qemu:///system', 'list', '--all', '--name']), { reject: false });
        return String(d.stdout).split('\n').filter(Boolean);
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The private namespaces that exist now (for the test: none must be left). */
export async function labNamespaces(): Promise<string[]> {
  const r = await execa('ip', ['netns', 'list'], { reject: false });
  return String(r.stdout).split('\n').map((l) => l.split(' ')[0]).filter((n) => n.startsWith(NETNS_PREFIX));
}

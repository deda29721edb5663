// Unit tests for the pieces runInVm writes for the guest (command.sh, setup.sh) and QEMU's command line.
// The boots themselves are in qemu.vm.test.ts.

import t from 'tap';
import { execa } from 'execa';
import { mkdtemp, readlink, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../lib/errors.js';
import { findStaticBusybox, type BootFiles } from '../../vm/initramfs.js';
import type { CachedKernel } from '../../vm/kernels.js';
import { commandScript, linkModulesDir, nicArgs, qemuArgs, setupScript, shellQuote, type QemuPlan } from '../../vm/qemu.js';
import { consoleReason } from '../../vm/console.js';

async function tempDir(t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-qemu-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('command.sh passes every argument and variable through sh unchanged', async (t) => {
  const dir = await tempDir(t);
  const awkward = ['a b', "it's", '$HOME', '', '*', 'line\nbreak', '"q"'];
  await writeFile(join(dir, 'command.sh'), commandScript({ command: ['printf', '[%s]', ...awkward], cwd: dir, env: { ODD: "va'l $x", PATH: process.env.PATH ?? '/usr/bin:/bin' } }));
  const r = await execa('sh', [join(dir, 'command.sh')], { env: {}, extendEnv: false, reject: false });
  t.equal(r.stdout, awkward.map((a) => `[${a}]`).join(''));
  await writeFile(join(dir, 'env.sh'), commandScript({ command: ['sh', '-c', 'printf "%s|%s" "$ODD" "$PWD"'], cwd: dir, env: { ODD: "va'l $x", PATH: process.env.PATH ?? '' } }));
  const env = await execa('sh', [join(dir, 'env.sh')], { env: {}, extendEnv: false });
  t.equal(env.stdout, `va'l $x|${dir}`, 'the variable and the working directory');
  t.equal(shellQuote("it's"), `'it'\\''s'`);
});

t.test('command.sh refuses a variable name sh could not export', async (t) => {
  t.throws(() => commandScript({ command: ['true'], cwd: '/', env: { 'A-B': '1' } }), { constructor: UsageError, message: /"A-B" is not a valid environment variable name/ });
});

t.test('a missing working directory exits 125 before the command runs', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'command.sh'), commandScript({ command: ['echo', 'ran'], cwd: join(dir, 'gone'), env: {} }));
  const r = await execa('sh', [join(dir, 'command.sh')], { reject: false });
  t.equal(r.exitCode, 125);
  t.equal(r.stdout, '');
});

const kernel: CachedKernel = {
  name: '6.1',
  suite: 'bookworm',
  release: '6.1.0-50-amd64',
  debianVersion: '6.1.176-1',
  dir: '/c/kernels/6.1',
  vmlinuz: '/c/kernels/6.1/root/boot/vmlinuz-6.1.0-50-amd64',
  modulesDir: '/c/kernels/6.1/root/lib/modules/6.1.0-50-amd64',
  bytes: 1,
  headers: {
    dir: '/c/h/root/usr/src/linux-headers-6.1.0-50-amd64',
    sourceDir: '/c/h/root/usr/src/linux-headers-6.1.0-50-common',
    paths: [
      { guestPath: '/usr/src/linux-headers-6.1.0-50-amd64', hostPath: '/c/h/root/usr/src/linux-headers-6.1.0-50-amd64' },
      { guestPath: '/usr/src/linux-kbuild-6.1', hostPath: '/c/h/root/usr/src/linux-kbuild-6.1' },
      { guestPath: '/usr/lib/linux-kbuild-6.1', hostPath: '/c/h/root/usr/lib/linux-kbuild-6.1' },
    ],
    bytes: 1,
  },
};

t.test('setup.sh mounts the writable shares, the modules and links the headers, and parses', async (t) => {
  const script = setupScript({ kernelRelease: kernel.release, modulesLinks: '/tmp/run/modules', headers: kernel.headers, writable: [['labw0', '/w/out'], ['labw1', "/w/it's"]], hostname: 'lab-6-1' });
  t.match(script, /^mount -t 9p -o trans=virtio,version=9p2000\.L,msize=\d+,cache=none 'labw0' '\/w\/out'$/m);
  t.match(script, /^mount -t 9p .* 'labw1' '\/w\/it'\\''s'$/m);
  t.match(script, /^mount -o bind '\/tmp\/run\/modules' '\/lib\/modules\/6\.1\.0-50-amd64'$/m);
  t.match(script, /^ln -s '\/c\/h\/root\/usr\/src\/linux-headers-6\.1\.0-50-amd64' '\/c\/h\/root\/usr\/src\/linux-kbuild-6\.1' \/usr\/src\/ /m, 'the /usr/src trees');
  t.match(script, /^ln -s '\/c\/h\/root\/usr\/lib\/linux-kbuild-6\.1' \/usr\/lib\/ /m, 'the /usr/lib tree');
  const dir = await tempDir(t);
  await writeFile(join(dir, 'setup.sh'), script);
  const r = await execa(await findStaticBusybox(), ['sh', '-n', join(dir, 'setup.sh')], { reject: false });
  t.equal(r.exitCode, 0, r.stderr || 'busybox sh parses it');
  t.notMatch(setupScript({ kernelRelease: kernel.release, modulesLinks: '/m', writable: [], hostname: 'h' }), /ln -s/, 'no headers, no links');
});

t.test('the modules directory for the guest links every entry and puts the headers at build and source', async (t) => {
  const dir = await tempDir(t);
  const modules = join(dir, 'modules');
  await execa('mkdir', ['-p', join(modules, 'kernel')]);
  await writeFile(join(modules, 'modules.dep'), '');
  await execa('ln', ['-s', '/usr/src/old-build', join(modules, 'build')]);
  const links = join(dir, 'links');
  await linkModulesDir({ ...kernel, modulesDir: modules }, links);
  t.same((await readdir(links)).sort(), ['build', 'kernel', 'modules.dep', 'source']);
  t.equal(await readlink(join(links, 'kernel')), join(modules, 'kernel'));
  t.equal(await readlink(join(links, 'build')), kernel.headers!.dir, "the cached headers, not the package's own build link");
  t.equal(await readlink(join(links, 'source')), kernel.headers!.sourceDir);
});

const boot: BootFiles = { kernel: '/c/boot/vmlinux', pvh: true, initramfs: '/c/boot/initramfs.cpio', modules: [], builtin: [], dir: '/c/boot' };
const plan: QemuPlan = {
  boot,
  accel: 'tcg',
  memoryMb: 2048,
  cpus: 2,
  runDir: '/tmp/ebpf-lab-vm-x',
  consoleLog: '/c/runs/a,b.console.log',
  sockets: { stdout: '/tmp/ebpf-lab-vm-x/out.sock', stderr: '/tmp/ebpf-lab-vm-x/err.sock', ctl: '/tmp/ebpf-lab-vm-x/ctl.sock' },
  writable: [['labw0', '/w/out']],
};

t.test('QEMU gets no network, no reboot, the read-only host root and the three ports', async (t) => {
  const args = qemuArgs(plan);
  const joined = args.join(' ');
  t.match(joined, /-nic none/);
  t.match(joined, /-no-reboot/);
  t.match(joined, /-accel tcg -cpu max/);
  t.match(joined, /-m 2048 -smp 2/);
  t.match(joined, /-virtfs local,path=\/,mount_tag=labroot,security_model=none,readonly=on,multidevs=remap/);
  t.match(joined, /-virtfs local,path=\/w\/out,mount_tag=labw0,security_model=none,multidevs=remap/);
  t.notMatch(joined, /path=\/w\/out,mount_tag=labw0[^ ]*readonly/, 'the writable share is writable');
  for (const name of ['lab.stdout', 'lab.stderr', 'lab.ctl']) t.match(joined, new RegExp(`virtserialport,chardev=\\w+,name=${name.replace('.', '\\.')}`));
  t.ok(args.includes('file,id=labconsole,path=/c/runs/a,,b.console.log'), 'a comma in a path is doubled for QEMU');
  const append = args[args.indexOf('-append') + 1];
  t.match(append, /console=ttyS0/);
  t.match(append, /panic=-1/);
  t.match(append, /labrun=\/tmp\/ebpf-lab-vm-x$/);
  t.notMatch(joined, /\b(10|172\.(1[6-9]|2\d|3[01])|192\.168)\.\d+\.\d+/, 'no private-range address anywhere');
});

t.test('forwarded ports give the guest a restricted user-mode NIC, listening on host loopback only', async (t) => {
  const args = qemuArgs({ ...plan, forwards: [{ hostPort: 40123, guestPort: 8888 }, { hostPort: 40124, guestPort: 22 }] });
  t.notMatch(args.join(' '), /-nic none/);
  t.equal(args[args.indexOf('-nic') + 1], 'user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:40123-:8888,hostfwd=tcp:127.0.0.1:40124-:22');
  t.throws(() => nicArgs([{ hostPort: 0, guestPort: 8888 }]), { constructor: UsageError, message: /port 0 is not a TCP port/ });
  t.throws(() => nicArgs([{ hostPort: 8888, guestPort: 70000 }]), { constructor: UsageError, message: /port 70000/ });
  t.same(nicArgs([]), ['-nic', 'none']);
});

t.test('setup.sh brings up eth0 only when the run forwards ports', async (t) => {
  const base = { kernelRelease: kernel.release, modulesLinks: '/m', writable: [], hostname: 'h' };
  t.notMatch(setupScript(base), /eth0/);
  const script = setupScript({ ...base, network: true });
  t.match(script, /^ip addr add 10\.0\.2\.15\/24 dev eth0$/m);
  t.match(script, /^ip link set eth0 up$/m);
});

t.test('under KVM QEMU passes the host CPU through', async (t) => {
  t.match(qemuArgs({ ...plan, accel: 'kvm' }).join(' '), /-accel kvm -cpu host/);
});

t.test('extra kernel arguments go before labrun=', async (t) => {
  t.match(qemuArgs({ ...plan, kernelArgs: ['loglevel=3'] }).join(' '), /rdinit=\/init cryptomgr\.notests loglevel=3 labrun=/);
});

t.test("a failed boot is explained by the guest init's error, else by the kernel panic", async (t) => {
  const log = '[    2.1] Run /init as init process\nlab-init: [2.85] modules loaded\nlab-init: [3.01] error: mount the host root over 9p failed\n[    3.2] reboot: Power down\n';
  t.equal(consoleReason(log), 'mount the host root over 9p failed');
  t.equal(consoleReason('[    1.9] Kernel panic - not syncing: No working init found.\n'), 'Kernel panic - not syncing: No working init found.');
  t.equal(consoleReason('[    1.0] all quiet\n'), undefined);
});

// Boots the 6.1 kernel for real (TCG here, KVM where it works) and checks what the harness relies on:
// the guest's kernel, its mounts and headers, exit codes, separate live output, writable shares,
// timeouts and aborts that leave no QEMU behind, and a failed boot that says why.

import t from 'tap';
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { EnvironmentError } from '../../lib/errors.js';
import { ensureKernel } from '../../vm/kernels.js';
import { GuestCrash } from '../../vm/console.js';
import { BootPanic, qemuVersion, runInVm } from '../../vm/qemu.js';
import { parseQemuVersion, tcgRaceFixed } from '../../vm/qemu-build.js';

// Several boots under TCG on two cores: well past tap's default per-file limit.
t.setTimeout(15 * 60_000);
t.comment(`timeout=${15 * 60_000}`);

const KERNEL = '6.1';

/** QEMU processes whose command line mentions `needle` (a run's console log path is unique). */
async function qemuWith(needle: string): Promise<string[]> {
  const r = await execa('pgrep', ['-a', '-f', 'qemu-system'], { reject: false });
  return r.stdout.split('\n').filter((l) => l.includes(needle));
}

t.test('the guest runs the cached kernel with the lab environment, tracefs, bpffs and the headers', async (t) => {
  const kernel = await ensureKernel(KERNEL, { headers: true });
  const script = [
    'uname -r',
    'echo "env $LAB_IN_VM $LAB_TARGET_KIND $LAB_ACCEL $LAB_BOOT_MS $LAB_KERNEL"',
    'grep -E " /sys/kernel/tracing | /sys/fs/bpf | /sys/fs/cgroup | /sys/kernel/debug " /proc/mounts | cut -d" " -f2,3 | sort',
    'test -d "/lib/modules/$(uname -r)/build/include" && echo build-include',
    'test -f "/lib/modules/$(uname -r)/modules.dep" && echo modules-dep',
    'test -e /sys/kernel/btf/vmlinux && echo btf',
    'touch /etc/lab-overlay-test && echo overlay-writable',
    'echo "cwd $PWD"',
  ].join('; ');
  const r = await runInVm({ kernel: KERNEL, command: ['sh', '-c', script], cwd: '/usr', timeoutMs: 180_000 });
  t.equal(r.exitCode, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  t.equal(lines[0], kernel.release, 'uname -r inside is the cached release');
  t.equal(r.kernelRelease, kernel.release);
  const [, inVm, kind, accel, bootMs, name] = lines[1].split(' ');
  t.same([inVm, kind, accel, name], ['1', 'qemu', r.accel, KERNEL], 'LAB_IN_VM, LAB_TARGET_KIND, LAB_ACCEL, LAB_KERNEL');
  t.equal(Number(bootMs), r.bootMs, 'LAB_BOOT_MS is the boot time the result reports');
  t.ok(r.bootMs > 0 && r.bootMs <= r.totalMs, `boot ${r.bootMs} ms within total ${r.totalMs} ms`);
  t.same(lines.slice(2, 6), ['/sys/fs/bpf bpf', '/sys/fs/cgroup cgroup2', '/sys/kernel/debug debugfs', '/sys/kernel/tracing tracefs']);
  t.same(lines.slice(6), ['build-include', 'modules-dep', 'btf', 'overlay-writable', 'cwd /usr']);
  t.notOk(await readFile('/etc/lab-overlay-test').catch(() => undefined), "the guest's write stayed in its overlay");
  t.match(await readFile(r.consoleLog, 'utf8'), /Linux version 6\.1\./, 'the console log on disk holds the kernel log');
  if (r.accel === 'tcg') {
    // Debian 12's QEMU 7.2 has the multi-threaded TCG race: the guest must run on one without it
    const system = parseQemuVersion(await qemuVersion());
    if (system && tcgRaceFixed(system)) t.same([r.qemu, r.tcgThread], [undefined, 'multi'], 'the system\'s QEMU, which has the fix');
    else t.same([r.qemu?.replace(/^[\d.]+ /, ''), r.tcgThread], ['(bookworm-backports)', 'multi'], `bookworm-backports' QEMU (${r.qemu}), a thread per vCPU`);
    t.same(r.retries, []);
  }
});

t.test("the guest command's exit code comes back exactly", async (t) => {
  const r = await runInVm({ kernel: KERNEL, command: ['sh', '-c', 'exit 7'], timeoutMs: 180_000 });
  t.equal(r.exitCode, 7);
  t.equal(r.timedOut, false);
});

t.test('stdout and stderr arrive separately and live, also through /dev/stdout and /dev/stderr', async (t) => {
  const out = new PassThrough();
  const err = new PassThrough();
  const arrivals: { stream: string; text: string; at: number }[] = [];
  out.on('data', (c: Buffer) => arrivals.push({ stream: 'out', text: c.toString(), at: Date.now() }));
  err.on('data', (c: Buffer) => arrivals.push({ stream: 'err', text: c.toString(), at: Date.now() }));
  const script = 'echo out-1; echo err-1 >&2; sleep 3; echo out-2 > /dev/stdout; echo err-2 > /dev/stderr';
  const r = await runInVm({ kernel: KERNEL, command: ['sh', '-c', script], stdout: out, stderr: err, timeoutMs: 180_000 });
  const finished = Date.now();
  t.equal(r.exitCode, 0);
  const text = (stream: string) => arrivals.filter((a) => a.stream === stream).map((a) => a.text).join('');
  t.equal(text('out'), 'out-1\nout-2\n');
  t.equal(text('err'), 'err-1\nerr-2\n');
  t.equal(r.stdout, '', 'nothing collected when a stream is given');
  const first = arrivals.find((a) => a.text.includes('out-1'))!;
  t.ok(finished - first.at >= 2500, `out-1 arrived ${finished - first.at} ms before the run ended, not at the end`);
});

t.test('a command writing into a writable directory is visible on the host', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lab-writable-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const r = await runInVm({ kernel: KERNEL, command: ['sh', '-c', `uname -r > ${dir}/release && mkdir ${dir}/sub && echo deep > ${dir}/sub/file`], writable: [dir], timeoutMs: 180_000 });
  t.equal(r.exitCode, 0, r.stderr);
  t.equal((await readFile(join(dir, 'release'), 'utf8')).trim(), r.kernelRelease);
  t.equal(await readFile(join(dir, 'sub/file'), 'utf8'), 'deep\n');
});

t.test('a timeout kills the VM and no qemu remains', async (t) => {
  const started = Date.now();
  const r = await runInVm({ kernel: KERNEL, command: ['sleep', '600'], timeoutMs: 15_000 });
  t.equal(r.timedOut, true);
  t.equal(r.exitCode, 124);
  t.ok(Date.now() - started < 30_000, 'stopped near the timeout');
  t.same(await qemuWith(r.consoleLog), [], 'no qemu process with this run\'s console log');
});

t.test('an abort kills the VM and rejects with the reason', async (t) => {
  const controller = new AbortController();
  const out = new PassThrough();
  // Abort once the command is running: its first output proves the guest booted.
  out.once('data', () => controller.abort(new Error('stop now')));
  const before = (await qemuWith('ebpf-lab-vm-')).length;
  await t.rejects(runInVm({ kernel: KERNEL, command: ['sh', '-c', 'echo started; sleep 600'], stdout: out, signal: controller.signal, timeoutMs: 180_000 }), { message: 'stop now' });
  t.ok((await qemuWith('ebpf-lab-vm-')).length <= before, 'its qemu is gone');
});

t.test('a guest that cannot start its init fails with the kernel panic and the console log path', async (t) => {
  const err = await runInVm({ kernel: KERNEL, command: ['true'], kernelArgs: ['rdinit=/no-such-init', 'init=/no-such-init'], timeoutMs: 180_000 }).catch((e: unknown) => e);
  t.type(err, EnvironmentError);
  t.notOk(err instanceof BootPanic, 'a missing init panics on every boot: not retried');
  t.match((err as Error).message, /run in vm 6\.1 .*Kernel panic - not syncing.*\(console log: \/.*\.console\.log\)/);
});

// The guest writes a lockup's lines into the kernel log (/dev/kmsg) and goes on sleeping: the kernel
// prints them on the console like its own, and the run must end at once on what the console says.
const kmsg = (lines: string[]) => ['sh', '-c', `${lines.map((l) => `echo '${l}' > /dev/kmsg`).join('; ')}; echo wrote; sleep 600`];

t.test('a guest kernel that breaks while the command runs ends the run within seconds, with the console\'s words', async (t) => {
  const err = await runInVm({ kernel: KERNEL, command: kmsg(['BUG: kernel NULL pointer dereference, address: 0000000000000008', 'CPU: 1 PID: 99 Comm: student Not tainted']), crashRetries: 0, timeoutMs: 300_000 }).catch((e: unknown) => e);
  t.type(err, GuestCrash);
  t.equal((err as GuestCrash).kind, 'oops');
  t.same((err as GuestCrash).excerpt, ['BUG: kernel NULL pointer dereference, address: 0000000000000008', 'CPU: 1 PID: 99 Comm: student Not tainted']);
  t.match((err as Error).message, /the guest's kernel broke \(oops\): BUG: kernel NULL pointer dereference.* \/ CPU: 1 PID: 99/);
  t.same(await qemuWith((err as GuestCrash).consoleLog), [], 'its qemu is gone');
});

t.test('a soft lockup on a QEMU with the TCG race is run once more, saying so and counting it, and then reported', async (t) => {
  const said: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    said.push(String(chunk));
    return write(chunk, ...rest);
  }) as typeof process.stderr.write;
  t.teardown(() => void (process.stderr.write = write));
  const err = await runInVm({ kernel: KERNEL, command: kmsg(['watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [node:180]']), qemu: 'system', tcgThread: 'multi', timeoutMs: 300_000 }).catch((e: unknown) => e);
  t.type(err, GuestCrash);
  t.equal((err as GuestCrash).kind, 'soft lockup');
  const accel = (err as GuestCrash).accel;
  const version = parseQemuVersion(await qemuVersion());
  const retried = accel === 'tcg' && !(version && tcgRaceFixed(version)) ? 1 : 0;
  t.equal(said.filter((l) => /soft lockup.*race.*running it again \(retry 1\)/.test(l)).length, retried, `retried once on a QEMU with the race only (here: ${accel})`);
  t.equal((err as GuestCrash).retries.length, retried, 'the retry is counted');
});

// A WARNING as __warn() prints it, written into the kernel's log mid-run: the command itself succeeds.
const SPLAT = 'WARNING: CPU: 0 PID: 77 at lab/test.c:1 lab_test_splat+0x0/0x10';

t.test('a kernel splat mid-run fails the run with its excerpt; an allow-listed one passes, with the reason shown', async (t) => {
  const command = ['sh', '-c', `echo '${SPLAT}' > /dev/kmsg; echo 'CPU: 0 PID: 77 Comm: lab-test Not tainted' > /dev/kmsg; sleep 2; echo finished`];
  const err = await runInVm({ kernel: KERNEL, command, timeoutMs: 300_000 }).catch((e: unknown) => e);
  t.type(err, GuestCrash, 'the run fails');
  t.equal((err as GuestCrash).kind, 'warning');
  t.same((err as GuestCrash).excerpt, [SPLAT, 'CPU: 0 PID: 77 Comm: lab-test Not tainted']);
  t.match((err as Error).message, /printed a splat \(warning\): WARNING: CPU: 0 PID: 77 at lab\/test\.c:1/);
  t.same((err as GuestCrash).retries, [], 'a splat is never the emulator\'s: not run again');

  const dir = await mkdtemp(join(tmpdir(), 'splat-allow-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const allow = join(dir, 'allow.json');
  await writeFile(allow, JSON.stringify([{ pattern: 'lab_test_splat', kernels: [KERNEL], reason: 'the test wrote it itself' }]));
  const before = process.env.LAB_SPLAT_ALLOW;
  process.env.LAB_SPLAT_ALLOW = allow;
  t.teardown(() => (before === undefined ? delete process.env.LAB_SPLAT_ALLOW : (process.env.LAB_SPLAT_ALLOW = before)));
  const r = await runInVm({ kernel: KERNEL, command, timeoutMs: 300_000 });
  t.equal(r.exitCode, 0);
  t.equal(r.stdout, 'finished\n');
  t.same(r.allowedSplats, [{ line: SPLAT, reason: 'the test wrote it itself' }]);
});

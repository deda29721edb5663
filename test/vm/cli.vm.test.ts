// `./lab vm run` end to end: exit codes propagate, and neither Ctrl-C, SIGTERM nor a killed lab process
// leaves a QEMU running.

import t from 'tap';
import { execa, type ResultPromise } from 'execa';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

t.setTimeout(10 * 60_000);
t.comment(`timeout=${10 * 60_000}`);

const lab = fileURLToPath(new URL('../../lab', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The pid of the QEMU started by process `parent` (setpriv execs into QEMU, so it is a direct child). */
async function qemuChildOf(parent: number, waitMs: number): Promise<number | undefined> {
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const r = await execa('pgrep', ['-P', String(parent), '-f', 'qemu-system'], { reject: false });
    const pid = Number(r.stdout.trim().split('\n')[0]);
    if (pid > 0) return pid;
    await sleep(200);
  }
  return undefined;
}

async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Start `./lab vm run --kernel 6.1 -- sleep 600` and wait until the guest command is running. */
async function startSleeper(t: { teardown: (fn: () => void) => void }): Promise<{ child: ResultPromise; qemu: number }> {
  const child = execa(lab, ['vm', 'run', '--kernel', '6.1', '--', 'sh', '-c', 'echo running; sleep 600'], { reject: false, cleanup: true, timeout: 300_000 });
  t.teardown(() => child.kill('SIGKILL'));
  const qemu = await qemuChildOf(child.pid!, 120_000);
  if (!qemu) throw new Error('start ./lab vm run: no qemu child appeared within 120 s');
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return { child, qemu };
}

t.test('./lab vm run propagates the guest exit code and keeps stdout and stderr apart', async (t) => {
  const r = await execa(lab, ['vm', 'run', '--kernel', '6.1', '--', 'sh', '-c', 'echo to-out; echo to-err >&2; exit 3'], { reject: false, timeout: 300_000 });
  t.equal(r.exitCode, 3);
  t.equal(r.stdout, 'to-out');
  t.equal(r.stderr, 'to-err');
});

t.test('./lab vm run with a bad kernel name exits 2 with the reason on stderr', async (t) => {
  const r = await execa(lab, ['vm', 'run', '--kernel', '2.6', '--', 'true'], { reject: false, timeout: 60_000 });
  t.equal(r.exitCode, 2);
  t.match(r.stderr, /unknown kernel "2\.6"/);
});

t.test('./lab vm run --timeout kills the VM and exits 124', async (t) => {
  const r = await execa(lab, ['vm', 'run', '--kernel', '6.1', '--timeout', '15', '--', 'sleep', '600'], { reject: false, timeout: 300_000 });
  t.equal(r.exitCode, 124);
  t.match(r.stderr, /timed out after 15 s; the VM was killed/);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  t.test(`${signal} to ./lab vm run stops the VM and leaves no qemu`, async (t) => {
    const { child, qemu } = await startSleeper(t);
    child.kill(signal);
    const r = await child;
    t.equal(r.exitCode, signal === 'SIGINT' ? 130 : 143);
    t.match(r.stderr, new RegExp(`^lab vm: interrupted by ${signal}; what was running was stopped`, 'm'));
    t.notOk(await alive(qemu), `qemu ${qemu} is gone`);
  });
}

t.test('a lab process killed with SIGKILL takes its qemu with it', async (t) => {
  const { child, qemu } = await startSleeper(t);
  child.kill('SIGKILL');
  await child;
  const deadline = Date.now() + 10_000;
  while ((await alive(qemu)) && Date.now() < deadline) await sleep(100);
  t.notOk(await alive(qemu), `qemu ${qemu} died with its parent (setpriv --pdeathsig)`);
  // The killed process could not remove its run directory; the next run does.
  const left = `${tmpdir()}/ebpf-lab-vm-${child.pid}-`;
  t.ok((await readdir(tmpdir())).some((n) => `${tmpdir()}/${n}`.startsWith(left)), 'the killed run left its directory');
  const next = await execa(lab, ['vm', 'run', '--kernel', '6.1', '--', 'true'], { reject: false, timeout: 300_000 });
  t.equal(next.exitCode, 0);
  t.notOk((await readdir(tmpdir())).some((n) => `${tmpdir()}/${n}`.startsWith(left)), 'the next run removed it');
});

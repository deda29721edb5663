import t from 'tap';
import { cpus } from 'node:os';
import { execa } from 'execa';
import { u32, u64 } from '../../../bpf/ts/codec.js';
import { createMap } from '../../../bpf/ts/map.js';
import { loadProgram } from '../../../bpf/ts/prog.js';
import { attachKprobe, attachTracepoint, tracefsRoot, tracepointFormat } from '../../../bpf/ts/tracepoint.js';
import { readFileSync } from 'node:fs';
import { goneFromKernel, requireFeature, uniqueName } from '../../lib/kernel.js';
import { countInArray, countPerTgid, RETURN_2 } from '../../lib/programs.js';

/** Run /bin/true pinned to a CPU, through taskset (absolute paths: no failed execve along PATH). */
async function execOnCpu(cpu: number): Promise<number> {
  const sub = execa('/usr/bin/taskset', ['-c', String(cpu), '/bin/true'], { reject: false, timeout: 10_000, cleanup: true });
  const pid = sub.pid!;
  const r = await sub;
  if (r.exitCode !== 0) throw new Error(`taskset -c ${cpu} /bin/true failed: ${r.stderr}`);
  return pid;
}

t.test('the execve tracepoints have the fields execsnoop reads, where the format file says', async (t) => {
  if (!requireFeature(t, 'tracefs')) return;
  t.match(tracefsRoot(), /\/sys\/kernel(\/debug)?\/tracing$/);
  const enter = tracepointFormat('syscalls', 'sys_enter_execve');
  t.ok(enter.id > 0);
  t.match(enter.field('filename'), { offset: 16, size: 8, type: 'const char *' });
  t.match(enter.field('argv'), { offset: 24, size: 8 });
  const exit = tracepointFormat('syscalls', 'sys_exit_execve');
  t.match(exit.field('ret'), { offset: 16, size: 8, signed: true });
  t.throws(() => tracepointFormat('syscalls', 'sys_enter_no_such_call'), { code: 'ENOENT' });
});

t.test('tracefs is mounted when nothing is (in a private mount namespace)', async (t) => {
  if (!requireFeature(t, 'root')) return;
  const unshare = await execa('unshare', ['--version'], { reject: false, timeout: 5000 });
  if (unshare.exitCode !== 0) return t.plan(0, 'unshare is missing: apt-get install util-linux');
  const script = [
    // debugfs too: mounted, it brings tracefs back at debug/tracing on the next look (the Go tools mount it, as
    // systemd does on most machines)
    'umount /sys/kernel/debug/tracing 2>/dev/null; umount /sys/kernel/debug 2>/dev/null; umount /sys/kernel/tracing 2>/dev/null',
    'test -e /sys/kernel/tracing/events && { echo \'{"ok":false,"message":"still mounted"}\'; exit 0; }',
    `exec "${process.execPath}" --import tsx test/lib/bpf-child.ts tracefs`,
  ].join('\n');
  const r = await execa('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { reject: false, timeout: 30_000, cleanup: true });
  t.same(JSON.parse(r.stdout.trim().split('\n').pop() || '{}'), { ok: true, root: '/sys/kernel/tracing' }, r.stderr);
});

t.test('a program on sys_enter_execve sees execs on every CPU from one perf event, and stops after close()', async (t) => {
  if (!requireFeature(t, 'tracefs')) return;
  const name = uniqueName('kt_count');
  const counts = createMap({ name, type: 'hash', key: u32, value: u64, maxEntries: 4096 });
  t.teardown(() => counts.close());
  const prog = loadProgram({ name, type: 'tracepoint', insns: countPerTgid(counts.fd) });
  t.teardown(() => prog.close());
  const link = attachTracepoint(prog, 'syscalls', 'sys_enter_execve');
  t.equal(link.target, 'tracepoint syscalls/sys_enter_execve');
  const pids: [number, number][] = [];
  for (let cpu = 0; cpu < cpus().length; cpu++) pids.push([cpu, await execOnCpu(cpu)]);
  for (const [cpu, pid] of pids) {
    // Two execve calls per child: node's spawn runs taskset, taskset (pinned) runs /bin/true.
    t.equal(counts.get(pid), 2n, `the child pinned to CPU ${cpu} (pid ${pid}) was counted twice`);
  }
  link.close();
  t.ok(link.closed);
  const after = await execOnCpu(0);
  t.equal(counts.get(after), undefined, 'no count once detached');
  prog.close();
  t.ok(await goneFromKernel('prog', name), 'the program is gone after detach and close');
});

t.test('a socket filter cannot attach to a tracepoint, and the error says why', async (t) => {
  if (!requireFeature(t, 'tracefs')) return;
  const prog = loadProgram({ name: uniqueName('kt_sock'), type: 'socket_filter', insns: RETURN_2 });
  t.teardown(() => prog.close());
  t.throws(() => attachTracepoint(prog, 'syscalls', 'sys_enter_execve'), {
    code: 'EINVAL',
    message: /^attach program "kt_sock_\w+" to tracepoint syscalls\/sys_enter_execve: EINVAL \(the program type does not match the event: a tracepoint needs a tracepoint program\)$/,
  });
});

t.test('a kprobe program counts calls of a kernel function where the kernel has kprobes', async (t) => {
  if (!requireFeature(t, 'kprobes')) return;
  const name = uniqueName('kt_kprobe');
  const count = createMap({ name, type: 'array', key: u32, value: u64, maxEntries: 1 });
  t.teardown(() => count.close());
  const prog = loadProgram({ name, type: 'kprobe', insns: countInArray(count.fd) });
  t.teardown(() => prog.close());
  const link = attachKprobe(prog, 'do_sys_openat2');
  t.teardown(() => link.close());
  readFileSync('/proc/self/status');
  t.ok(count.lookup(0) > 0n, 'an open() went through do_sys_openat2');
});

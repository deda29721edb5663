import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PERF_EVENT_IOC_DISABLE, PERF_EVENT_IOC_ENABLE, PERF_EVENT_IOC_SET_BPF, PerfEventAttr, readField } from '../../../bpf/ts/attr.js';
import { Program } from '../../../bpf/ts/prog.js';
import { attachKprobe, attachTracepoint, kprobePmu, parseFormat, tracefsRoot, tracepointFormat, tracepointId } from '../../../bpf/ts/tracepoint.js';
import { E, fakeSyscalls } from '../../lib/fake-syscalls.js';

// As this machine's kernel (6.18) prints them.
const SYS_ENTER_EXECVE = `name: sys_enter_execve
ID: 862
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:const char * filename;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char *const * argv;\toffset:24;\tsize:8;\tsigned:0;
\tfield:const char *const * envp;\toffset:32;\tsize:8;\tsigned:0;

print fmt: "filename: 0x%08lx, argv: 0x%08lx, envp: 0x%08lx", ((unsigned long)(REC->filename)), ((unsigned long)(REC->argv)), ((unsigned long)(REC->envp))
`;

const SCHED_PROCESS_EXEC = `name: sched_process_exec
ID: 365
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;
\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;
\tfield:char comm[16];\toffset:16;\tsize:16;\tsigned:0;
`;

/** A directory that looks like tracefs: events/<category>/<name>/{id,format}. */
function fakeTracefs(t: { teardown(fn: () => void): void }): string {
  const root = mkdtempSync(join(tmpdir(), 'tracefs-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'events', 'syscalls', 'sys_enter_execve');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'id'), '862\n');
  writeFileSync(join(dir, 'format'), SYS_ENTER_EXECVE);
  return root;
}

t.test('a format file gives each field\'s name, C type, offset, size and sign', async (t) => {
  const f = parseFormat(SYS_ENTER_EXECVE, 'syscalls');
  t.equal(f.id, 862);
  t.equal(f.name, 'sys_enter_execve');
  t.same(f.field('filename'), { name: 'filename', type: 'const char *', offset: 16, size: 8, signed: false, common: false });
  t.same(f.field('argv'), { name: 'argv', type: 'const char *const *', offset: 24, size: 8, signed: false, common: false });
  t.same(f.field('common_pid'), { name: 'common_pid', type: 'int', offset: 4, size: 4, signed: true, common: true });
  t.equal(f.fields.length, 8);
  const exec = parseFormat(SCHED_PROCESS_EXEC, 'sched');
  t.same(exec.field('filename'), { name: 'filename', type: '__data_loc char[]', offset: 8, size: 4, signed: false, common: false });
  t.same(exec.field('comm'), { name: 'comm', type: 'char[16]', offset: 16, size: 16, signed: false, common: false });
});

t.test('asking for a field the event lacks names the ones it has', async (t) => {
  t.throws(() => parseFormat(SYS_ENTER_EXECVE, 'syscalls').field('ret'), {
    message: 'find tracepoint: no such field (syscalls/sys_enter_execve has no field ret; it has __syscall_nr, filename, argv, envp)',
  });
});

t.test('tracefs is found where it is mounted, else mounted on the first place', async (t) => {
  const mounted = fakeTracefs(t);
  const empty = mkdtempSync(join(tmpdir(), 'empty-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  t.equal(tracefsRoot({ candidates: [empty, mounted] }), mounted);

  const mounts: string[][] = [];
  fakeSyscalls(t, {
    mount: (_f, source, target, fstype) => {
      mounts.push([source, target, fstype]);
      mkdirSync(join(target, 'events'));
      return 0;
    },
  });
  t.equal(tracefsRoot({ candidates: [empty] }), empty);
  t.same(mounts, [['tracefs', empty, 'tracefs']]);
});

t.test('tracefs that cannot be mounted says how to mount it', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'empty-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  fakeSyscalls(t, { mount: () => -E.EPERM });
  t.throws(() => tracefsRoot({ candidates: [empty] }), {
    message: `mount tracefs on ${empty}: EPERM (run as root to mount tracefs, or mount it first: mount -t tracefs tracefs /sys/kernel/tracing)`,
  });
  t.throws(() => tracefsRoot({ candidates: [empty], mount: false }), { code: 'no tracefs' });
});

t.test('ids and formats come from events/<category>/<name>; a missing one is ENOENT with where to look', async (t) => {
  const root = fakeTracefs(t);
  t.equal(tracepointId('syscalls', 'sys_enter_execve', root), 862);
  t.equal(tracepointFormat('syscalls', 'sys_enter_execve', root).field('filename').offset, 16);
  t.throws(() => tracepointId('syscalls', 'sys_enter_nothing', root), {
    message: 'find tracepoint syscalls/sys_enter_nothing: ENOENT (no such tracepoint on this kernel: the list is in <tracefs>/available_events)',
  });
  t.throws(() => tracepointId('..', 'etc', root), { code: 'bad name' });
  t.throws(() => tracepointId('syscalls', 'a/b', root), { code: 'bad name' });
});

t.test('attaching opens a tracepoint perf event on pid -1, CPU 0, then SET_BPF and ENABLE; close detaches', async (t) => {
  const root = fakeTracefs(t);
  const opened: { attr: Buffer; pid: number; cpu: number; group: number; flags: number }[] = [];
  const ioctls: [number, number, number][] = [];
  const fake = fakeSyscalls(t, {
    perfEventOpen: (_f, attr, pid, cpu, group, flags) => (opened.push({ attr: Buffer.from(attr), pid, cpu, group, flags }), 50),
    ioctl: (_f, fd, req, arg) => (ioctls.push([fd, req, arg]), 0),
  });
  const prog = new Program(7, 'count', 5, 2, '');
  const link = attachTracepoint(prog, 'syscalls', 'sys_enter_execve', { tracefs: root });
  t.equal(link.target, 'tracepoint syscalls/sys_enter_execve');
  t.equal(opened.length, 1);
  const [o] = opened;
  t.same([o!.pid, o!.cpu, o!.group, o!.flags], [-1, 0, -1, 8], 'PERF_FLAG_FD_CLOEXEC');
  t.equal(readField(PerfEventAttr, o!.attr, 'type'), 2, 'PERF_TYPE_TRACEPOINT');
  t.equal(readField(PerfEventAttr, o!.attr, 'config'), 862n);
  t.equal(readField(PerfEventAttr, o!.attr, 'size'), 64);
  t.equal(o!.attr.length, 64);
  t.same(ioctls, [
    [50, PERF_EVENT_IOC_SET_BPF, 7],
    [50, PERF_EVENT_IOC_ENABLE, 0],
  ]);
  link.close();
  link.close();
  t.same(ioctls.at(-1), [50, PERF_EVENT_IOC_DISABLE, 0]);
  t.same(
    fake.log.filter((c) => c.name === 'close').map((c) => c.args),
    [[50]],
  );
});

t.test('a failed SET_BPF closes the perf event and says why', async (t) => {
  const root = fakeTracefs(t);
  const fake = fakeSyscalls(t, { perfEventOpen: () => 50, ioctl: (_f, _fd, req) => (req === PERF_EVENT_IOC_SET_BPF ? -E.EINVAL : 0) });
  t.throws(() => attachTracepoint(new Program(7, 'sock', 1, 2, ''), 'syscalls', 'sys_enter_execve', { tracefs: root }), {
    message: 'attach program "sock" to tracepoint syscalls/sys_enter_execve: EINVAL (the program type does not match the event: a tracepoint needs a tracepoint program)',
  });
  t.ok(fake.log.some((c) => c.name === 'close' && c.args[0] === 50));
});

t.test('a kprobe goes through the kprobe PMU: its type, the name\'s address in kprobe_func, the offset, the retprobe bit', async (t) => {
  const pmuDir = mkdtempSync(join(tmpdir(), 'kprobe-pmu-'));
  t.teardown(() => rmSync(pmuDir, { recursive: true, force: true }));
  mkdirSync(join(pmuDir, 'format'));
  writeFileSync(join(pmuDir, 'type'), '8\n');
  writeFileSync(join(pmuDir, 'format', 'retprobe'), 'config:0\n');
  const pmu = kprobePmu(pmuDir);
  t.same(pmu, { type: 8, retprobeBit: 0 });

  const opened: { attr: Buffer; name: string; pid: number; cpu: number }[] = [];
  fakeSyscalls(t, {
    perfEventOpen: (f, attr, pid, cpu) => {
      const name = f.at(attr.readBigUInt64LE(PerfEventAttr.fields.kprobe_func.offset));
      opened.push({ attr: Buffer.from(attr), name: name.toString('latin1'), pid, cpu });
      return 60;
    },
  });
  const prog = new Program(7, 'kp', 2, 2, '');
  attachKprobe(prog, 'do_sys_openat2', { pmu, offset: 4 }).close();
  attachKprobe(prog, 'do_sys_openat2', { pmu, retprobe: true }).close();
  const [entry, ret] = opened;
  t.equal(entry!.attr.length, 72, 'reaches probe_offset (config2)');
  t.equal(readField(PerfEventAttr, entry!.attr, 'type'), 8);
  t.equal(readField(PerfEventAttr, entry!.attr, 'config'), 0n);
  t.equal(entry!.name, 'do_sys_openat2\0');
  t.equal(readField(PerfEventAttr, entry!.attr, 'probe_offset'), 4n);
  t.same([entry!.pid, entry!.cpu], [-1, 0]);
  t.equal(readField(PerfEventAttr, ret!.attr, 'config'), 1n, 'the retprobe bit');
});

t.test('a kernel without kprobes says so', async (t) => {
  t.throws(() => kprobePmu('/nonexistent/kprobe'), {
    message: 'find kprobe support: ENOENT (this kernel has no kprobe PMU at /sys/bus/event_source/devices/kprobe: it is built without CONFIG_KPROBES)',
  });
});

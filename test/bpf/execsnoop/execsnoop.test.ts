import t from 'tap';
import { ARGSIZE, Event, MAX_ARGS, SYSCALL, decodeEvent, enterProgram, execProgram, exitProgram, formatEvent, type Layout } from '../../../bpf/execsnoop/execsnoop.js';
import { assemble } from '../../../bpf/ts/insn.js';
import { disasm } from '../../../bpf/ts/disasm.js';

const layout: Layout = { argv: 24, argvAt: 32, flagsAt: 48, ret: 16, filename: 8, realParent: 1280, tgid: 1268, mm: 1176, startStack: 328, output: 'ringbuf' };
const maps = { scratch: 3, execs: 4, events: 5 };

t.test('the event layout is execsnoop.h’s struct event', async (t) => {
  t.same(Event.offsets, {
    pid: 0, ppid: 4, ret: 8, args_count: 12, args_complete: 16, args_truncated: 20, args_unreadable: 24, args_dropped: 28, syscall: 32, at_flags: 36, comm: 40, filename: 56, args: 184,
  });
  t.equal(Event.size, 184 + MAX_ARGS * ARGSIZE);
});

t.test('the programs take their context and task_struct offsets from the layout', async (t) => {
  const enter = disasm(assemble(enterProgram(layout), { maps }), { labels: false, comments: false });
  t.match(enter, /r9 = \*\(u64 \*\)\(r6 \+24\)/, 'argv read from the format file’s offset');
  t.equal(enter.match(/call bpf_probe_read_user_str#114/g)?.length, MAX_ARGS, 'one string read per kept argument');
  const exit = disasm(assemble(exitProgram(layout), { maps }), { labels: false, comments: false });
  t.match(exit, /r1 = \*\(u64 \*\)\(r6 \+16\)/, 'ret read from its offset');
  t.match(exit, /r3 \+= 1280/, 'real_parent offset from BTF');
  t.match(exit, /r3 \+= 1176/, 'task_struct.mm offset from BTF');
  t.match(exit, /r3 \+= 328/, 'mm_struct.start_stack offset from BTF');
  t.equal(exit.match(/call bpf_probe_read_user_str#114/g)?.length, MAX_ARGS, 'every argument can be read again after the exec');
  t.match(exit, /call bpf_ringbuf_output#130/);
  const perf = disasm(assemble(exitProgram({ ...layout, output: 'perf' }), { maps }), { labels: false, comments: false });
  t.match(perf, /call bpf_perf_event_output#25/);
  t.match(perf, /w3 = -1/, 'BPF_F_CURRENT_CPU as a 32-bit all-ones flag');
});

t.test('execveat: argv and flags from its own format; sched_process_exec: the __data_loc filename, the stack when no enter saw it', async (t) => {
  const at = disasm(assemble(enterProgram(layout, 'execveat'), { maps }), { labels: false, comments: false });
  t.match(at, /r9 = \*\(u64 \*\)\(r6 \+32\)/, 'argv at its offset in sys_enter_execveat');
  t.match(at, /r1 = \*\(u32 \*\)\(r6 \+48\)/, 'flags at theirs');
  t.match(at, new RegExp(`\\*\\(u32 \\*\\)\\(r8 \\+32\\) = ${SYSCALL.execveat}`), 'the door saved');
  const exec = disasm(assemble(execProgram(layout), { maps }), { labels: false, comments: false });
  t.match(exec, /r3 = \*\(u32 \*\)\(r6 \+8\)/, 'the __data_loc word of filename');
  t.match(exec, /r3 &= 65535/, 'its offset in the low 16 bits');
  t.match(exec, /call bpf_probe_read_kernel_str#115/);
  t.equal(exec.match(/call bpf_probe_read_user_str#114/g)?.length, 2 * MAX_ARGS, 'arguments read again, or read from the stack');
});

t.test('an event decodes into capped arguments and prints as execsnoop.c prints it', async (t) => {
  const args = Buffer.alloc(MAX_ARGS * ARGSIZE);
  args.write('/bin/true', 0);
  args.write('two words', ARGSIZE);
  args.write('x'.repeat(ARGSIZE - 1), 3 * ARGSIZE);
  args.write('<unreadable>', 5 * ARGSIZE);
  const raw = Event.encode({
    pid: 42, ppid: 1, ret: -2, args_count: 6, args_complete: 0, args_truncated: 0b1000, args_unreadable: 0b10000, args_dropped: 1,
    syscall: SYSCALL.execve, at_flags: 0, comm: 'sh', filename: '', args,
  });
  const e = decodeEvent(raw);
  t.same(e.args, ['/bin/true', 'two words', '', 'x'.repeat(ARGSIZE - 1) + '...', '', '<unreadable>']);
  t.same(e.unreadable, [4]);
  t.equal(
    formatEvent(e),
    `sh               42      1        -2 execve   /bin/true 'two words' '' ${'x'.repeat(ARGSIZE - 1)}... <unreadable> '<unreadable>' ...`,
    'the mark is bare; a real argument spelled like it is quoted',
  );
});

t.test('an exec by fd shows /dev/fd/N; bytes that are not UTF-8 print as \\xHH in $\'…\'', async (t) => {
  const args = Buffer.alloc(MAX_ARGS * ARGSIZE);
  Buffer.from([0x6f, 0x6b, 0xff, 0x5c, 0xc3, 0xa9, 0x0a]).copy(args, 0);
  const raw = Event.encode({
    pid: 7, ppid: 1, ret: 0, args_count: 1, args_complete: 1, args_truncated: 0, args_unreadable: 0, args_dropped: 0,
    syscall: SYSCALL.execveat, at_flags: 0x1000, comm: 'memfd:x', filename: '/dev/fd/3', args,
  });
  const e = decodeEvent(raw);
  t.match(e, { syscall: 'execveat', filename: '/dev/fd/3' });
  t.equal(formatEvent(e), "memfd:x          7       1         0 execveat:/dev/fd/3 $'ok\\xff\\\\é\\n'");
  const unknown = decodeEvent(Event.encode({ ...Event.decode(raw), syscall: SYSCALL.unknown, at_flags: 0, filename: '' }));
  t.match(formatEvent(unknown), /^memfd:x +7 +1 +0 \? +\$'/, 'no enter saw it: ?');
});

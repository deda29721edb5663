#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""execsnoop, BCC version, user side: compiles and attaches execsnoop_bcc.c, prints a line per exec.

Output (stdout, flushed per line): once attached, the header
    PCOMM            PID     PPID    RET SYSCALL  ARGS
then "%-16s %-7d %-7d %3d %-8s " comm, pid, ppid, ret, the door (execve, execveat, execveat:/dev/fd/N
for an exec by fd, ? when no syscall tracepoint saw it start: the 32-bit entry), and the arguments
separated by spaces, each quoted only when needed: '...' (an embedded ' as '\\''), or $'...' with
backslash escapes when it holds a control character or bytes that are not UTF-8 (each as \\xHH). A cut argument ends in "..." (inside the quotes when quoted); a final
unquoted "..." means argv had more than MAX_ARGS entries; an unquoted <unreadable> stands for an
argument the kernel side could not read. The same format as the libbpf version.
SIGINT or SIGTERM: print what is still buffered, exit 0. A compile error (no kernel headers, say):
"compile execsnoop_bcc.c: <BCC's first error line>" on stderr, then BCC's full output, exit 1.
"""
import os
import re
import signal
import sys

# bpf/bcc_load.py: BPF(src_file=...) with BCC's first error line first, shared by the BCC versions
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bcc_load import load  # noqa: E402

MAX_ARGS = 20  # as in execsnoop_bcc.c
ARGSIZE = 128
UNREADABLE_MARK = b'<unreadable>'  # as in execsnoop.h
SYSCALL_EXECVEAT = 2  # as in execsnoop_bcc.c
DOORS = {1: b'execve', SYSCALL_EXECVEAT: b'execveat'}  # 0: only sched_process_exec saw it
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'execsnoop_bcc.c')

PLAIN = re.compile(rb'[A-Za-z0-9@%+=:,./_-]+')
CONTROL = re.compile(rb'[\x00-\x1f\x7f]')
ESCAPES = {ord('\n'): b'\\n', ord('\t'): b'\\t', ord('\r'): b'\\r',
           ord('\\'): b'\\\\', ord("'"): b"\\'"}


def quote(arg: bytes) -> bytes:
    """An argument as a shell would need it typed."""
    if PLAIN.fullmatch(arg):
        return arg
    text = arg.decode('utf-8', 'surrogateescape')  # a byte that is not UTF-8 becomes U+DC80..U+DCFF
    if CONTROL.search(arg) or any(0xdc80 <= ord(c) <= 0xdcff for c in text):
        def one(c: str) -> bytes:
            o = ord(c)
            if 0xdc80 <= o <= 0xdcff:
                return b'\\x%02x' % (o - 0xdc00)
            return ESCAPES.get(o) or (b'\\x%02x' % o if o < 0x20 or o == 0x7f else c.encode('utf-8'))
        return b"$'" + b''.join(one(c) for c in text) + b"'"
    return b"'" + arg.replace(b"'", b"'\\''") + b"'"


def main() -> None:
    if len(sys.argv) > 1:
        sys.exit(f'usage: {sys.argv[0]} (no options; Ctrl-C ends)')
    # Ctrl-C and SIGTERM both stop it. Set SIGINT too: a shell starts background jobs ignoring it.
    for stop in signal.SIGINT, signal.SIGTERM:
        signal.signal(stop, signal.default_int_handler)
    bpf = load(SOURCE)
    out = sys.stdout.buffer

    def print_event(cpu, data, size):
        e = bpf['events'].event(data)
        raw = bytes(e.args)
        args = []
        for i in range(min(e.args_count, MAX_ARGS)):
            if e.args_unreadable >> i & 1:
                args.append(UNREADABLE_MARK)
                continue
            arg = raw[i * ARGSIZE:(i + 1) * ARGSIZE].split(b'\0', 1)[0]
            args.append(quote(arg + b'...' if e.args_truncated >> i & 1 else arg))
        if e.args_dropped:
            args.append(b'...')
        door = DOORS.get(e.syscall, b'?')
        if e.syscall == SYSCALL_EXECVEAT and e.filename:
            door = b'execveat:' + e.filename
        out.write(b'%-16s %-7d %-7d %3d %-8s %s\n' % (e.comm, e.pid, e.ppid, e.ret, door, b' '.join(args)))
        out.flush()

    # 1,024 pages a CPU (4 MiB), not 64: 2,000 execs from 40 processes at once (the storm test) lost 10 in a 6.1
    # guest under TCG through 64, Python reading them slower than the guest exec'd
    bpf['events'].open_perf_buffer(print_event, page_cnt=1024)
    print('%-16s %-7s %-7s %3s %-8s %s' % ('PCOMM', 'PID', 'PPID', 'RET', 'SYSCALL', 'ARGS'), flush=True)
    try:
        while True:
            bpf.perf_buffer_poll()
    except KeyboardInterrupt:
        bpf.perf_buffer_poll(0)  # what is still buffered


if __name__ == '__main__':
    main()

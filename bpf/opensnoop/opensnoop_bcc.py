#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""opensnoop, BCC version, user side: compiles and attaches opensnoop_bcc.c, prints a line per open.

Output (stdout, flushed per line), the same as the libbpf version's (format.ts's formatRow): once
attached, the header
    PID     TID     COMM             SYSCALL FLAGS    MODE   RET PATH
then one row per open, "%-7d %-7d %-16s %-7s %08o %04o %5d %s": pid, tid, comm, the door (open,
openat, openat2), flags and mode in octal, the return value (the new fd, or -errno) and the path: each
byte 0x20-0x7e as itself but the backslash, written \\\\; any other byte as \\xHH; a path longer than
PATH_CAP bytes as its first PATH_CAP, then "...". A path the kernel side could not read (the open
failed with EFAULT) is empty: the row ends after the return value's space.
SIGINT or SIGTERM: print what is still buffered, exit 0. A compile error (no kernel headers, say):
"compile opensnoop_bcc.c: <BCC's first error line>" on stderr, then BCC's full output, exit 1; bad
usage: 2.
Events the perf buffer had no room for are counted on stderr ("lost N events").
"""
import ctypes
import os
import signal
import sys

# bpf/bcc_load.py: BPF(src_file=...) with BCC's first error line first, shared by the BCC versions
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bcc_load import load  # noqa: E402

PATH_CAP = 256  # as in opensnoop_bcc.c
PATH_BUF = PATH_CAP + 2
CUT_MARK = b'...'
DOORS = {1: b'open', 2: b'openat', 3: b'openat2'}  # SYSCALL_* in opensnoop_bcc.c
POLL_TIMEOUT_MS = 100
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'opensnoop_bcc.c')
HEADER = '%-7s %-7s %-16s %-7s %-8s %-4s %5s %s' % ('PID', 'TID', 'COMM', 'SYSCALL', 'FLAGS', 'MODE', 'RET',
                                                     'PATH')

# Each byte as a row shows it: 0x20-0x7e as itself but the backslash, any other byte as \xHH.
ESCAPED = [bytes([b]) if 0x20 <= b <= 0x7e else b'\\x%02x' % b for b in range(256)]
ESCAPED[ord('\\')] = b'\\\\'


def shown_path(raw: bytes, path_len: int) -> bytes:
    """The path as a row shows it, from the event's buffer and bpf_probe_read_user_str()'s return."""
    length = ctypes.c_int32(path_len).value  # the bytes read with the NUL, or -errno
    if length <= 0:
        return b''
    cut = length == PATH_BUF
    path = raw[:PATH_CAP] if cut else raw[:length - 1]
    return b''.join(ESCAPED[b] for b in path) + (CUT_MARK if cut else b'')


def main() -> None:
    if len(sys.argv) > 1:
        print(f'usage: {sys.argv[0]} (no options; Ctrl-C ends)', file=sys.stderr)
        sys.exit(2)
    # Ctrl-C and SIGTERM both stop it: a flag, not KeyboardInterrupt, which a signal landing inside
    # print_event would raise in a ctypes callback, where ctypes prints it and goes on (a storm of
    # opens keeps the loop in callbacks most of the time). Set SIGINT too: a shell starts background
    # jobs ignoring it.
    stopping = []
    for stop in signal.SIGINT, signal.SIGTERM:
        signal.signal(stop, lambda signum, frame: stopping.append(signum))
    bpf = load(SOURCE)
    if stopping:
        return  # stopped while compiling
    out = sys.stdout.buffer

    def print_event(cpu, data, size):
        e = bpf['events'].event(data)
        out.write(b'%-7d %-7d %-16s %-7s %08o %04o %5d %s\n' % (
            e.pid, e.tid, e.comm, DOORS.get(e.syscall, b'?'), e.flags, e.mode, e.ret,
            shown_path(bytes(e.path), e.path_len)))
        out.flush()

    def print_lost(count):
        sys.stderr.write(f'perf buffer full: lost {count} events\n')

    # 1,024 pages a CPU (4 MiB, 12,000 events of 320 bytes): Python reads slower than a storm of opens
    # sends them, most of all in a TCG guest
    bpf['events'].open_perf_buffer(print_event, page_cnt=1024, lost_cb=print_lost)
    print(HEADER, flush=True)
    while not stopping:
        bpf.perf_buffer_poll(timeout=POLL_TIMEOUT_MS)  # the timeout: a signal between the check and the poll
    # Detach first, so the drain ends: then print what is still buffered.
    for tp in list(bpf.tracepoint_fds):
        bpf.detach_tracepoint(tp)
    bpf.perf_buffer_poll(timeout=0)


if __name__ == '__main__':
    main()

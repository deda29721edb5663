#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""hello, BCC version, user side: compiles and attaches hello_bcc.c, prints the trace pipe's lines.

Output (stdout, flushed per line): once attached, "Saying hello on every execve... Hit Ctrl-C to
end."; then one line per trace pipe line that BPF.trace_fields() can split, in the trace pipe's
own shape minus the event's name: "COMM-TID [CPU] FLAGS TIMESTAMP: MESSAGE", e.g.
  true-4242 [001] ...21 5120.331907: Hello, World! execve pid=4242
The trace buffer is the whole machine's: lines of other programs, and lines written before this
one started, come too; and only one process at a time may read trace_pipe (a second open gets
EBUSY on kernels since 6.5 and stable ones). SIGINT or SIGTERM: detach, print what is still in
the pipe, exit 0. A compile error: "compile hello_bcc.c: <BCC's first error line>" on stderr,
exit 1; bad usage: 2.

trace_fields() reads one line of trace_pipe (BCC 0.26 looks in /sys/kernel/debug/tracing first,
then /sys/kernel/tracing) and splits it into (task, pid, cpu, flags, ts, msg): pid is the thread
id of the prefix, msg what bpf_trace_printk wrote. It skips lines it cannot split (other events,
"CPU:N [LOST n EVENTS]"). BCC's trace_print() would print the lines as they are, but never returns
and, on Python 3, prints them as bytes (b'...'). Both block in read(): a signal still gets through,
since Python runs its handler when read() returns EINTR and the exception leaves the loop.
"""
import errno
import fcntl
import os
import signal
import sys

# bpf/bcc_load.py: BPF(src_file=...) with BCC's first error line first, shared by the BCC versions
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bcc_load import load  # noqa: E402

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'hello_bcc.c')
READY = 'Saying hello on every execve... Hit Ctrl-C to end.'


def text(value) -> str:
    """trace_fields() gives bytes, or str placeholders ("Unknown") for a line it cannot convert."""
    return value.decode(errors='replace') if isinstance(value, bytes) else str(value)


def show(fields) -> None:
    task, pid, cpu, flags, ts, msg = fields
    print('%s-%d [%03d] %s %.6f: %s' % (text(task), pid, cpu, text(flags), ts, text(msg).strip()),
          flush=True)


def main() -> None:
    if len(sys.argv) > 1:
        print(f'usage: {sys.argv[0]} (no options; Ctrl-C ends)', file=sys.stderr)
        sys.exit(2)
    # Both stop requests end the loop the same way. Set explicitly: a shell starting us with & (no
    # job control) leaves SIGINT ignored, and Python then installs no KeyboardInterrupt of its own.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        bpf = load(SOURCE)
    except KeyboardInterrupt:
        return  # stopped while compiling: nothing attached yet
    try:
        pipe = bpf.trace_open()  # before the ready line: a pipe we cannot read is an error now
    except OSError as error:
        hint = ('another process is reading the trace pipe, and the kernel allows one reader at '
                'a time' if error.errno == errno.EBUSY else
                'is tracefs mounted? mount -t tracefs tracefs /sys/kernel/tracing')
        print(f'open trace_pipe: {error.strerror} ({hint})', file=sys.stderr)
        sys.exit(1)
    try:
        print(READY, flush=True)
        while True:
            show(bpf.trace_fields())
    except KeyboardInterrupt:
        pass
    # Detach first, then hand out what the program wrote before it stopped: without blocking, since
    # nothing more will come. (trace_fields(nonblocking=True) sets O_NONBLOCK only when it opens the
    # pipe, and ours is open: set it here.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    bpf.detach_tracepoint(b'syscalls:sys_enter_execve')
    fd = pipe.fileno()
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
    while True:
        fields = bpf.trace_fields(nonblocking=True)
        if fields[0] is None:
            break
        show(fields)


if __name__ == '__main__':
    main()

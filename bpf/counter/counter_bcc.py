#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""counter, BCC version, user side: compiles and attaches counter_bcc.c, prints the maps at the end.

Output (stdout): once attached, "Counting execve calls... Hit Ctrl-C to end."; on SIGINT or
SIGTERM, "PID     COUNT", one "%-7d %d" line per process (by pid), then "TOTAL   <n>", exit 0.
The same format as the libbpf version. A compile error (no kernel headers, say):
"compile counter_bcc.c: <BCC's first error line>" on stderr, then BCC's full output, exit 1.
"""
import ctypes
import os
import signal
import sys
import tempfile

from bcc import BPF

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'counter_bcc.c')


def load(source: str) -> BPF:
    """BPF(src_file=...), failing with BCC's own first error line first on stderr (libbcc prints
    some errors on stdout, and clang's after its warnings). As in execsnoop_bcc.py."""
    saved = os.dup(1), os.dup(2)
    bpf = failure = None
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            bpf = BPF(src_file=source.encode())
        except Exception as error:  # BCC raises a bare Exception
            failure = error
        finally:
            ctypes.CDLL(None).fflush(None)
            for fd, copy in enumerate(saved, start=1):
                os.dup2(copy, fd)
                os.close(copy)
        log.seek(0)
        messages = log.read().decode(errors='replace')
    if failure is None:
        sys.stderr.write(messages)
        return bpf
    lines = messages.splitlines()
    first = next((line for line in lines if 'Unable to find kernel headers' in line), None) \
        or next((line for line in lines if 'error' in line), None) or str(failure)
    sys.stderr.write(f'compile {os.path.basename(source)}: {first.strip()}\n{messages}')
    sys.exit(1)


def main() -> None:
    if len(sys.argv) > 1:
        sys.exit(f'usage: {sys.argv[0]} (no options; Ctrl-C prints the counts)')
    # Held until sigwait() below, so a stop request never ends the process before the counts.
    stop = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop)
    bpf = load(SOURCE)
    print('Counting execve calls... Hit Ctrl-C to end.', flush=True)
    signal.sigwait(stop)
    # Detach first, so the counts printed are final.
    bpf.detach_tracepoint(b'syscalls:sys_enter_execve')
    print('%-7s %s' % ('PID', 'COUNT'))
    for pid, count in sorted((k.value, v.value) for k, v in bpf['per_pid'].items()):
        print('%-7d %d' % (pid, count))
    print('%-7s %d' % ('TOTAL', bpf['total'][0].value), flush=True)


if __name__ == '__main__':
    main()

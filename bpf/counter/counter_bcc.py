#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""counter, BCC version, user side: compiles and attaches counter_bcc.c, prints the maps at the end.

Output (stdout): once attached, "Counting execve calls... Hit Ctrl-C to end."; on SIGINT or
SIGTERM, "PID     COUNT", one "%-7d %d" line per process (by pid), then "TOTAL   <n>", exit 0.
The same format as the libbpf version. A compile error (no kernel headers, say):
"compile counter_bcc.c: <BCC's first error line>" on stderr, then BCC's full output, exit 1.
"""
import os
import signal
import sys

# bpf/bcc_load.py: BPF(src_file=...) with BCC's first error line first, shared by the BCC versions
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bcc_load import load  # noqa: E402

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'counter_bcc.c')


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

# SPDX-License-Identifier: GPL-2.0
"""Compiling a BCC program so that a failure says why in its first line: shared by the BCC versions
of execsnoop and counter (bpf/*/..._bcc.py)."""
import ctypes
import os
import sys
import tempfile
import time

from bcc import BPF


def phase(name: str) -> None:
    """With LAB_PHASES=1, "lab-phase NAME MS" on stderr: ms since the previous phase (the first: since the
    process started), as every tool of the project does for ./lab bench."""
    global _last
    if os.environ.get('LAB_PHASES') != '1':
        return
    now = time.monotonic()
    if _last is None:  # since the process started: /proc/self/stat's start time, in clock ticks since boot
        start = int(open('/proc/self/stat').read().rsplit(')', 1)[1].split()[19]) / os.sysconf('SC_CLK_TCK')
        _last = now - (time.clock_gettime(time.CLOCK_BOOTTIME) - start)
    sys.stderr.write(f'lab-phase {name} {(now - _last) * 1000:.1f}\n')
    _last = now


_last = None


def load(source: str) -> BPF:
    """BPF(src_file=...), failing with BCC's own first error line first on stderr. libbcc prints
    some errors ("Unable to find kernel headers") on stdout, and clang's after its warnings: catch
    both streams while compiling, then pass them on."""
    saved = os.dup(1), os.dup(2)
    bpf = failure = None
    with tempfile.TemporaryFile() as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        phase('start')
        try:
            bpf = BPF(src_file=source.encode())  # clang compiles, then the programs load
        except Exception as error:  # BCC raises a bare Exception
            failure = error
        finally:
            ctypes.CDLL(None).fflush(None)  # libbcc's C stdio buffers, before the fds move back
            for fd, copy in enumerate(saved, start=1):
                os.dup2(copy, fd)
                os.close(copy)
        log.seek(0)
        messages = log.read().decode(errors='replace')
    if failure is None:
        phase('compile+load+attach')  # TRACEPOINT_PROBEs attach as BPF() loads them
        sys.stderr.write(messages)  # compiler warnings, if any
        return bpf
    lines = messages.splitlines()
    first = next((line for line in lines if 'Unable to find kernel headers' in line), None) \
        or next((line for line in lines if 'error' in line), None) or str(failure)
    sys.stderr.write(f'compile {os.path.basename(source)}: {first.strip()}\n{messages}')
    sys.exit(1)

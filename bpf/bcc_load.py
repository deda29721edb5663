# SPDX-License-Identifier: GPL-2.0
"""Compiling a BCC program so that a failure says why in its first line: shared by the BCC versions
of execsnoop and counter (bpf/*/..._bcc.py)."""
import ctypes
import os
import sys
import tempfile

from bcc import BPF


def load(source: str) -> BPF:
    """BPF(src_file=...), failing with BCC's own first error line first on stderr. libbcc prints
    some errors ("Unable to find kernel headers") on stdout, and clang's after its warnings: catch
    both streams while compiling, then pass them on."""
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
            ctypes.CDLL(None).fflush(None)  # libbcc's C stdio buffers, before the fds move back
            for fd, copy in enumerate(saved, start=1):
                os.dup2(copy, fd)
                os.close(copy)
        log.seek(0)
        messages = log.read().decode(errors='replace')
    if failure is None:
        sys.stderr.write(messages)  # compiler warnings, if any
        return bpf
    lines = messages.splitlines()
    first = next((line for line in lines if 'Unable to find kernel headers' in line), None) \
        or next((line for line in lines if 'error' in line), None) or str(failure)
    sys.stderr.write(f'compile {os.path.basename(source)}: {first.strip()}\n{messages}')
    sys.exit(1)

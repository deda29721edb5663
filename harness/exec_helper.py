#!/usr/bin/python3
"""The two workload execs that Node cannot do itself: exec from a non-main thread, and execveat.

Usage: exec_helper.py thread|execveat FILE ARGV0 [ARG...]

Before exec'ing, it writes one JSON line on stdout saying who is about to exec (pid, tid, ppid, comm
of the calling thread), so the workload knows the truth a tracer should report. Node has no fork, and
calling execve from a worker thread would replace the workload itself, hence this small helper.
"""
import ctypes
import json
import os
import sys
import threading

SYS_execveat = 322  # x86_64 (arch/x86/entry/syscalls/syscall_64.tbl)
AT_FDCWD = -100


def report():
    tid = threading.get_native_id()
    with open(f"/proc/self/task/{tid}/comm") as f:
        comm = f.read().rstrip("\n")
    sys.stdout.write(json.dumps({"pid": os.getpid(), "tid": tid, "ppid": os.getppid(), "comm": comm}) + "\n")
    sys.stdout.flush()


def c_argv(args):
    arr = (ctypes.c_char_p * (len(args) + 1))()
    arr[:-1] = [a.encode() for a in args]
    arr[-1] = None
    return arr


def exec_from_thread(filename, argv):
    def run():
        report()
        os.execv(filename, argv)  # only returns by raising

    t = threading.Thread(target=run, name="exec-thread")
    t.start()
    t.join()  # never returns when exec succeeds: the kernel kills the other threads


def exec_at(filename, argv):
    report()
    libc = ctypes.CDLL(None, use_errno=True)
    env = c_argv([f"{k}={v}" for k, v in os.environ.items()])
    libc.syscall(ctypes.c_long(SYS_execveat), ctypes.c_int(AT_FDCWD), filename.encode(), c_argv(argv), env, 0)
    err = ctypes.get_errno()
    sys.stderr.write(f"exec_helper: execveat {filename}: {os.strerror(err)}\n")
    sys.exit(126)


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in ("thread", "execveat"):
        sys.stderr.write(__doc__)
        sys.exit(2)
    mode, filename, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    (exec_from_thread if mode == "thread" else exec_at)(filename, argv)
    sys.exit(126)


if __name__ == "__main__":
    main()

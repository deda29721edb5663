/* SPDX-License-Identifier: GPL-2.0 */
/* The event execsnoop's kernel side (execsnoop.bpf.c) sends to its user side (execsnoop.c).
 * BCC's copy of these definitions is at the top of execsnoop_bcc.c: keep the two alike. */
#ifndef EXECSNOOP_H
#define EXECSNOOP_H

#define TASK_COMM_LEN 16
/* argv entries kept, argv[0] included; more are dropped and shown as a final "..." */
#define MAX_ARGS 20
/* bytes kept per argument, NUL included: a longer one keeps ARGSIZE-1 bytes, shown with "..." */
#define ARGSIZE 128

/* The door an exec came through (event.syscall). SYSCALL_UNKNOWN: no execve or execveat tracepoint saw it
 * start, only sched_process_exec its success — the 32-bit entry (int $0x80), or an exec under way at attach. */
#define SYSCALL_UNKNOWN 0
#define SYSCALL_EXECVE 1
#define SYSCALL_EXECVEAT 2
/* include/uapi/linux/fcntl.h (vmlinux.h has no macros): execveat(fd, "", ..., AT_EMPTY_PATH) runs fd itself */
#define AT_EMPTY_PATH 0x1000

struct event {
	__u32 pid;             /* tgid: the process id as user space sees it */
	__u32 ppid;            /* tgid of the real parent */
	__s32 ret;             /* execve's return value: 0 or -errno */
	__u32 args_count;      /* argv entries kept, at most MAX_ARGS */
	__u32 args_complete;   /* 1: argv's closing NULL was read, so args_count is argc */
	__u32 args_truncated;  /* bit i set: argument i was longer than ARGSIZE-1 bytes */
	__u32 args_unreadable; /* bit i set: argument i could not be read (shown as <unreadable>) */
	__u32 args_dropped;    /* 1: argv had more than MAX_ARGS entries */
	__u32 syscall;         /* SYSCALL_* */
	__u32 at_flags;        /* execveat's flags (AT_EMPTY_PATH: an exec by fd) */
	char comm[TASK_COMM_LEN]; /* the caller's comm, read before exec replaced it */
	/* after a successful exec by fd: the name the kernel gave the program (bprm->filename, /dev/fd/N) */
	char filename[ARGSIZE];
	/* argument i is the NUL-terminated string at args[i * ARGSIZE] */
	char args[MAX_ARGS * ARGSIZE];
};

/* How execsnoop.c prints an argument it could not read. Unquoted, so no real argument looks like it:
 * a real "<unreadable>" is printed quoted ('<unreadable>'), as a shell would need it. */
#define UNREADABLE_MARK "<unreadable>"

#endif /* EXECSNOOP_H */

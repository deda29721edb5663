/* SPDX-License-Identifier: GPL-2.0 */
/* The event opensnoop's kernel side (opensnoop.bpf.c) sends to its user side (opensnoop.c).
 * BCC's copy of these definitions is at the top of opensnoop_bcc.c, the ts tool's in limits.ts and
 * opensnoop.ts: test/bpf/opensnoop/limits.test.ts checks that they agree. */
#ifndef OPENSNOOP_H
#define OPENSNOOP_H

#define TASK_COMM_LEN 16
/* Bytes of a path shown; a longer one shows its first PATH_CAP bytes, then "...". */
#define PATH_CAP 256
/* The path is read into PATH_CAP + 2 bytes: bpf_probe_read_user_str() fills a buffer of N bytes both for a string
 * of N-1 bytes and for any longer one, so only a read of one byte more than the cap can tell "exactly PATH_CAP
 * bytes" (returns PATH_CAP + 1) from "longer" (returns PATH_CAP + 2). */
#define PATH_BUF (PATH_CAP + 2)
/* Opens in flight, keyed by thread id, between sys_enter and sys_exit: one per thread inside open(). */
#define MAX_OPENS_IN_FLIGHT 10240

/* The door an open came through (event.syscall). */
#define SYSCALL_OPEN 1
#define SYSCALL_OPENAT 2
#define SYSCALL_OPENAT2 3

struct event {
	__u32 pid;       /* tgid: the process id as user space sees it */
	__u32 tid;       /* the thread that called open */
	__s32 ret;       /* the new fd, or -errno */
	__u32 syscall;   /* SYSCALL_* */
	__u64 flags;     /* open's flags (openat2: how->flags) */
	__u64 mode;      /* open's mode (openat2: how->mode): meaningful with O_CREAT or O_TMPFILE only */
	__u32 path_len;  /* bpf_probe_read_user_str()'s return: bytes read with the NUL, at most PATH_BUF; < 0 unreadable */
	__u32 pad;
	char comm[TASK_COMM_LEN];
	char path[PATH_BUF];
};

#endif /* OPENSNOOP_H */

// SPDX-License-Identifier: GPL-2.0
/* hello, libbpf CO-RE version, user side: loads hello.bpf.o through its skeleton, attaches it to
 * sys_enter_execve and prints what arrives on the trace pipe, where bpf_printk() writes.
 *
 * Output (stdout, line-buffered): once attached, "Saying hello on every execve... Hit Ctrl-C to
 * end."; then each trace pipe line as the kernel wrote it, trimmed, e.g.
 *   true-4242    [001] ...21  5120.331907: bpf_trace_printk: Hello, World! execve pid=4242
 * (comm-tid [cpu] flags timestamp: the event's name: the message). The trace buffer is the whole
 * machine's: lines of other programs, and lines written before this one started, come too. Only one
 * process at a time may read trace_pipe: a second open gets EBUSY (kernels since 6.5 and stable).
 * SIGINT or SIGTERM: print what is still in the pipe, exit 0. Errors: stderr, exit 1; bad usage: 2.
 *
 * The course's hello_user.c ends in while (1) {} and leaves reading to `cat trace_pipe` in another
 * window. Reading it here instead: a blocking read() on trace_pipe sleeps until a line comes, and
 * a handler installed with SA_RESTART (what signal() gives) has the kernel restart it, so Ctrl-C
 * would wait for the next execve. So the pipe is opened O_NONBLOCK and waited on with poll() and a
 * timeout; the timeout also covers a signal that lands between the flag check and the poll(). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "hello.skel.h"

#define POLL_TIMEOUT_MS 100
#define READS_PER_POLL 16 /* of up to 64 KiB each */
#define FINAL_READS 256

/* tracefs's own mount point first, then the one debugfs mounts automatically (older setups). */
static const char *const trace_pipes[] = {
	"/sys/kernel/tracing/trace_pipe",
	"/sys/kernel/debug/tracing/trace_pipe",
};

static volatile sig_atomic_t exiting;

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static int print_libbpf_warnings(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static const char *hint(int err, const char *otherwise)
{
	return err == EPERM || err == EACCES ? "run as root or grant CAP_BPF+CAP_PERFMON" : otherwise;
}

static int open_trace_pipe(void)
{
	int fd = -1, err = ENOENT;
	size_t i;

	for (i = 0; i < sizeof(trace_pipes) / sizeof(trace_pipes[0]) && fd < 0; i++) {
		fd = open(trace_pipes[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		/* Not mounted here: try the next place. Anything else is the answer. */
		if (fd < 0 && errno != ENOENT)
			return -errno;
	}
	return fd < 0 ? -err : fd;
}

/* Lines as they come; a line cut by the end of a read waits in buf for the rest. */
static char buf[64 * 1024];
static size_t held;

static void print_line(char *line)
{
	char *end = line + strlen(line);

	while (*line == ' ' || *line == '\t')
		line++;
	while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		*--end = '\0';
	if (*line)
		printf("%s\n", line);
}

/* Reads what the pipe holds now and prints every whole line: until it is empty, or after
 * max_reads reads — the trace buffer is everyone's, and a flood from another program must not keep
 * the loop from seeing Ctrl-C. Returns 0, or -errno. */
static int drain(int fd, int max_reads)
{
	for (; max_reads > 0; max_reads--) {
		ssize_t n = read(fd, buf + held, sizeof(buf) - 1 - held);
		char *line, *nl;

		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n == 0)
			return 0;
		held += n;
		buf[held] = '\0';
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			*nl = '\0';
			print_line(line);
		}
		held -= line - buf;
		memmove(buf, line, held);
		if (held == sizeof(buf) - 1) { /* a 64 KiB line: print it as it is */
			print_line(buf);
			held = 0;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct hello_bpf *skel = NULL;
	struct pollfd pfd;
	int fd, err;

	if (argc > 1) {
		fprintf(stderr, "usage: %s (no options; Ctrl-C ends)\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* No SA_RESTART: poll() must return on a signal. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	libbpf_set_print(print_libbpf_warnings);

	/* First the pipe: without a reader the program's lines would only pile up in the buffer. */
	fd = open_trace_pipe();
	if (fd < 0) {
		err = -fd;
		fprintf(stderr, "open trace_pipe: %s (%s)\n", strerror(err),
			err == ENOENT ? "is tracefs mounted? mount -t tracefs tracefs /sys/kernel/tracing"
			: err == EBUSY ? "another process is reading the trace pipe, and the kernel allows "
					 "one reader at a time"
				       : "run as root");
		return 1;
	}
	skel = hello_bpf__open_and_load();
	if (!skel) {
		err = errno;
		fprintf(stderr, "load hello.bpf.o: %s (%s)\n", strerror(err),
			hint(err, "libbpf's messages above say why"));
		goto out;
	}
	err = hello_bpf__attach(skel);
	if (err) {
		err = -err;
		fprintf(stderr, "attach sys_enter_execve: %s (%s)\n", strerror(err),
			hint(err, "is tracefs mounted? mount -t tracefs tracefs /sys/kernel/tracing"));
		goto out;
	}

	printf("Saying hello on every execve... Hit Ctrl-C to end.\n");
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (!exiting) {
		if (poll(&pfd, 1, POLL_TIMEOUT_MS) < 0 && errno != EINTR) {
			err = errno;
			fprintf(stderr, "poll trace_pipe: %s\n", strerror(err));
			goto out;
		}
		err = drain(fd, READS_PER_POLL);
		if (err) {
			err = -err;
			fprintf(stderr, "read trace_pipe: %s\n", strerror(err));
			goto out;
		}
	}
	/* Detach first, then print what the program wrote before it stopped. */
	hello_bpf__detach(skel);
	err = drain(fd, FINAL_READS);
	if (held) {
		buf[held] = '\0';
		print_line(buf);
	}
	if (err) {
		err = -err;
		fprintf(stderr, "read trace_pipe: %s\n", strerror(err));
	}
out:
	hello_bpf__destroy(skel);
	close(fd);
	return err ? 1 : 0;
}

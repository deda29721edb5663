// execsnoop's limits, defined once for the TypeScript side: the ts tool (execsnoop.ts), its printing
// (format.ts) and the harness (harness/examples/execsnoop/) import them from here. The C, Python and
// bpftrace versions spell them in their own languages — execsnoop.h, execsnoop_bcc.c, execsnoop_bcc.py,
// execsnoop.bt — and test/bpf/execsnoop/limits.test.ts checks that every one of them agrees with these.
// No koffi here: formatting and parsing code imports this without loading the bpf() layer.

/** include/linux/sched.h: comm holds 15 bytes and a NUL. */
export const TASK_COMM_LEN = 16;
/** argv entries kept, argv[0] included; more are dropped and shown as a final "...". */
export const MAX_ARGS = 20;
/** Bytes kept per argument, NUL included: a longer one shows ARGSIZE-1 bytes, then "...". */
export const ARGSIZE = 128;
/** Entries of the map of execs in flight: one per process between sys_enter_execve and sys_exit_execve. */
export const MAX_EXECS_IN_FLIGHT = 512;
/** How a cut argument ends, and how a dropped tail of argv is shown. */
export const CUT_MARK = '...';
/** How an argument the tool could not read is shown: bare in the tables, the same word in a normalized event. */
export const UNREADABLE_MARK = '<unreadable>';

// opensnoop's limits and output format, defined once for the TypeScript side: the ts tool (opensnoop.ts)
// and the harness (harness/examples/opensnoop/) import them from here. The C, Python and bpftrace versions
// spell them in their own languages (opensnoop.h, opensnoop_bcc.c, opensnoop.bt), and
// test/bpf/opensnoop/limits.test.ts checks that they agree. No koffi here.

/** include/linux/sched.h: comm holds 15 bytes and a NUL. */
export const TASK_COMM_LEN = 16;
/** Bytes of a path shown; a longer one shows its first PATH_CAP bytes, then CUT_MARK. */
export const PATH_CAP = 256;
/** The buffer a path is read into: one byte more than the cap and its NUL (opensnoop.h says why). */
export const PATH_BUF = PATH_CAP + 2;
/** Entries of the map of opens in flight, keyed by thread id. */
export const MAX_OPENS_IN_FLIGHT = 10240;
/** How a cut path ends. */
export const CUT_MARK = '...';
/** The header our opensnoops print once attached; a row is `formatRow`'s. */
export const HEADER = 'PID     TID     COMM             SYSCALL FLAGS    MODE   RET PATH';

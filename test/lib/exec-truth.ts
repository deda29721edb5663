// A made-up run of the exec workload, as the real one reports it (pids invented): the cases the graders'
// unit tests share (test/harness/examples/).
import type { ExecTruth, WorkloadRun } from '../../harness/examples/exec-workload.js';

/** One exec's truth, with every field a plain exec from the workload would have unless given. */
export const truth = (over: Partial<ExecTruth> & Pick<ExecTruth, 'id' | 'pid'>): ExecTruth => ({
  marker: `run-${over.id}`,
  syscall: 'execve',
  tid: over.pid,
  ppid: 100,
  filename: '/bin/true',
  argv: ['/bin/true', `run-${over.id}`],
  ret: 0,
  commBefore: 'node',
  commAfter: 'true',
  ...over,
});

export const run: WorkloadRun = {
  runId: 'run',
  execs: [
    truth({ id: 'plain', pid: 201, argv: ['/bin/true'] }),
    truth({ id: 'many-args', pid: 202, argv: ['/bin/true', ...Array.from({ length: 29 }, (_, i) => `a${i}`)] }),
    truth({ id: 'long-arg', pid: 203, argv: ['/bin/true', 'L'.repeat(300)] }),
    truth({ id: 'arg-with-spaces', pid: 204, argv: ['/bin/true', 'two words', ''] }),
    truth({ id: 'failed-enoent:launcher', pid: 205, filename: '/bin/sh', argv: ['/bin/sh', '-c', 'x'], commAfter: 'sh', launcher: true }),
    truth({ id: 'failed-enoent', pid: 205, filename: '/nonexistent/x', argv: ['/nonexistent/x'], ret: -2, commBefore: 'sh', commAfter: 'sh' }),
    truth({ id: 'from-thread:launcher', pid: 206, filename: '/usr/bin/python3', argv: ['/usr/bin/python3', 'h.py'], commAfter: 'python3', launcher: true }),
    truth({ id: 'from-thread', pid: 206, tid: 207, commBefore: 'python3' }),
    truth({ id: 'execveat:launcher', pid: 208, filename: '/usr/bin/python3', argv: ['/usr/bin/python3', 'h.py'], commAfter: 'python3', launcher: true }),
    truth({ id: 'execveat', pid: 208, syscall: 'execveat', commBefore: 'python3' }),
  ],
};

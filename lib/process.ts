// Ctrl-C, SIGTERM and process lifetime for long commands: the first signal aborts the work through an AbortSignal, so
// tracers, VMs and temporary directories are cleaned up by the code that made them; a second signal
// exits at once (children die with us: tracers and QEMU run with a parent-death signal).

/**
 * `file args` wrapped in `setpriv --pdeathsig KILL`: the kernel kills the child when this process dies,
 * however it dies (SIGKILL included), so no tracer, BPF program or QEMU outlives us. Node cannot call
 * prctl(PR_SET_PDEATHSIG) for a child itself; setpriv is util-linux's, which every Debian has.
 */
export function diesWithUs(file: string, args: string[]): [string, string[]] {
  return ['setpriv', ['--pdeathsig', 'KILL', '--', file, ...args]];
}

/** The command was stopped by a signal; the CLI prints it and exits 130 (SIGINT) or 143 (SIGTERM). */
export class Interrupted extends Error {
  override name = 'Interrupted';
  constructor(readonly signal: NodeJS.Signals) {
    super(`interrupted by ${signal}; what was running was stopped and cleaned up`);
  }
  get exitCode(): number {
    return this.signal === 'SIGINT' ? 130 : 143;
  }
}

/**
 * Runs `work` with a signal that the first SIGINT or SIGTERM aborts. If the work fails after that, the
 * failure is the interruption: throws Interrupted. Work that completes anyway returns its result.
 */
export async function interruptible<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(new Interrupted(signal).exitCode);
    received = signal;
    controller.abort(new Interrupted(signal));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work(controller.signal);
  } catch (err) {
    if (received) throw new Interrupted(received);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

// How a ts tool runs. A tool is one function: it loads and attaches, writes its lines through `out` (the ready
// line first, then its events), and hands back a stop that detaches and writes anything final (a counter's
// counts). `runAsProgram` makes it a program of its own (`node build/js/execsnoop.cjs`, as the harness and
// the benchmark start every variant); `./lab trace` calls the same function inside its own process, so a
// trace starts one Node runtime, not two (~45 ms on the host, ~0.8 s in a TCG guest, and koffi loads once).

import { pathToFileURL } from 'node:url';

export interface ToolOutput {
  /** One line of output, without its newline. */
  line(text: string): void;
  /** The tool cannot go on after attaching (a buffer it reads failed): the run ends with this error. */
  fail(err: Error): void;
}

export interface RunningTool {
  /** Detach, write what is final, free everything. */
  stop(): void;
}

/** Attaches (or throws, with the verifier's words for a rejected program) and starts writing lines. */
export type Tool = (out: ToolOutput) => RunningTool;

/** Whether the module at `url` is the program node was started with (and not imported by another). */
export const isMain = (url: string): boolean => url === pathToFileURL(process.argv[1] ?? '').href;

/**
 * The tool as a program: no options, lines on stdout, errors on stderr with exit 1, and Ctrl-C or SIGTERM
 * stops it (exit 0).
 */
export function runAsProgram(name: string, tool: Tool, help: string): void {
  const die = (err: unknown): never => {
    process.stderr.write(`${name}: ${(err as Error).message}\n`);
    process.exit(1);
  };
  if (process.argv.length > 2) {
    process.stderr.write(`usage: ${name}.ts (${help})\n`);
    process.exit(2);
  }
  let running: RunningTool;
  try {
    running = tool({ line: (text) => process.stdout.write(text + '\n'), fail: die });
  } catch (err) {
    die(err);
  }
  const stop = () => {
    try {
      running.stop();
    } catch (err) {
      die(err);
    }
    // exit once stdout has taken everything. To a socket (what a Node parent's pipe is) each small write costs an
    // skb, the buffer fills after a few hundred lines, and process.exit() would drop the queued rest: the counter
    // lost its TOTAL line this way, under the harness, with 280 processes counted.
    process.stdout.write('', () => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  setInterval(() => {}, 1 << 30); // stay alive until a signal, even with nothing to read (a counter)
}

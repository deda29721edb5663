// Start-up phases, timed on request: with LAB_PHASES=1 in the environment a tool writes one line per phase to
// stderr, "lab-phase NAME MS", the milliseconds since the previous one (the first: since the process started,
// Node's own start and module loading included). ./lab bench sets it and shows where start-up time goes.

const on = process.env.LAB_PHASES === '1';
let last = 0;

export function phase(name: string): void {
  if (!on) return;
  const now = performance.now();
  process.stderr.write(`lab-phase ${name} ${(now - last).toFixed(1)}\n`);
  last = now;
}

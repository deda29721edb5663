// A small bench report as ./lab bench writes it, for the tests of what presents it.
import type { BenchReport } from '../../../harness/bench/types.js';
import { PUBLISHED } from '../../../harness/bench/published.js';

export const REPORT: BenchReport = {
  schema: 1,
  kind: 'bench',
  target: { kind: 'qemu', kernel: '6.1.0-50-amd64', accel: 'tcg', btf: true, bootMs: 2600 },
  storm: 300,
  repeats: 2,
  startedAt: '2026-12-01T12:00:00.000Z',
  durationMs: 17000,
  untracedRate: { n: 2, min: 900, median: 1000, max: 1100 },
  memoryMethod: 'VmHWM',
  build: { objectMs: 2000, skeletonMs: 120, binaryMs: 900 },
  variants: [
    {
      name: 'execsnoop/libbpf', example: 'execsnoop', tool: 'libbpf', reference: false, status: 'ok', loc: 400,
      footprint: { bytes: 700_000, parts: [{ what: 'libbpf.so.1', bytes: 700_000 }] },
      startup: {
        readyMs: { n: 2, min: 87, median: 178, max: 269 },
        firstEventMs: { n: 2, min: 93, median: 200, max: 307 },
        phases: { start: { n: 2, min: 40, median: 40, max: 40 }, open: { n: 2, min: 30, median: 30, max: 30 }, load: { n: 2, min: 60, median: 60, max: 60 }, attach: { n: 2, min: 5, median: 5, max: 5 } },
      },
      memory: { rssKb: 13672, method: 'VmHWM', processes: 1, kernelBytes: 1404808, maps: 3, progs: 2 },
      cost: { programs: [{ id: 1, runs: 300, ns: 600_000, nsPerRun: 2000 }], nsPerExec: 2000 },
      baseline: { rate: 1000, kernel: 300, ok: 300 },
      storm: { rate: 900, ratio: 0.9, account: { execs: 300, kernel: 300, received: 300, reportedLost: 0, silentlyMissing: 0, duplicates: 0, closes: true } },
    },
    {
      name: 'execsnoop/upstream-bcc', example: 'execsnoop', tool: 'upstream-bcc', reference: true, status: 'ok', loc: 300,
      startup: { readyMs: { n: 2, min: 25000, median: 26000, max: 27000 } },
      memory: { rssKb: 200000, method: 'VmHWM', processes: 1, kernelBytes: 500000, maps: 2, progs: 2 },
      baseline: { rate: 1100, kernel: 300, ok: 300 },
      storm: { rate: 550, ratio: 0.5, account: { execs: 300, kernel: 300, received: 290, reportedLost: 4, silentlyMissing: 6, duplicates: 0, closes: true }, lossExplained: 'one perf event per argument into 8 pages per CPU' },
    },
    { name: 'execsnoop/bcc', example: 'execsnoop', tool: 'bcc', reference: false, status: 'skip', reason: 'bcc: no kernel headers for 6.18', loc: 150 },
  ],
  published: PUBLISHED,
};

// What /proc says about a tracer's whole process tree: its pids, the peak resident set of each, and the BPF
// programs and maps its fds hold (with the kernel's run-time counters and memlock). measure.ts parses.

import { readdir, readFile, readlink } from 'node:fs/promises';
import { parseBpfFdInfo, statPpid, statusKb, type BpfFdInfo } from './measure.js';

/** The process and all its descendants, alive now (a scan of /proc: the children files of /proc need CONFIG_PROC_CHILDREN). */
export async function processTree(root: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = statPpid(await readFile(`/proc/${name}/stat`, 'utf8').catch(() => ''));
    if (ppid === undefined) continue;
    const kids = parents.get(ppid);
    if (kids) kids.push(Number(name));
    else parents.set(ppid, [Number(name)]);
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const k of parents.get(pid) ?? []) walk(k);
  };
  walk(root);
  return out;
}

/** Peak resident kB per process (VmHWM), for each process of the tree still alive. */
export async function peakRss(pids: readonly number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const kb = statusKb(await readFile(`/proc/${pid}/status`, 'utf8').catch(() => ''));
    if (kb !== undefined) out.set(pid, kb);
  }
  return out;
}

/** The BPF programs and maps held by the fds of these processes, each once. */
export async function bpfObjects(pids: readonly number[]): Promise<BpfFdInfo[]> {
  const found = new Map<string, BpfFdInfo>();
  for (const pid of pids) {
    const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (!/^anon_inode:bpf[-_](prog|map)$/.test(link)) continue;
      const info = parseBpfFdInfo(await readFile(`/proc/${pid}/fdinfo/${fd}`, 'utf8').catch(() => ''));
      if (info) found.set(`${info.kind}:${info.id}`, info);
    }
  }
  return [...found.values()];
}

/**
 * Samples a process tree's peak RSS while it runs: processes come and go (a compiler child), and VmHWM is
 * gone with its process, so each one's last reading is kept. The sum over-counts pages the processes share.
 */
export class RssSampler {
  readonly peaks = new Map<number, number>();
  #timer?: NodeJS.Timeout;

  constructor(private readonly root: number) {}

  async sample(): Promise<void> {
    for (const [pid, kb] of await peakRss(await processTree(this.root))) this.peaks.set(pid, Math.max(kb, this.peaks.get(pid) ?? 0));
  }

  start(everyMs = 200): void {
    this.#timer = setInterval(() => void this.sample(), everyMs);
    this.#timer.unref(); // a sampler left running by an error never keeps the process alive
  }

  async stop(): Promise<number> {
    clearInterval(this.#timer);
    await this.sample();
    return [...this.peaks.values()].reduce((a, b) => a + b, 0);
  }
}

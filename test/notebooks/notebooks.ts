// Running the notebooks through real Jupyter (test/notebooks/run_notebooks.py: nbclient and the tslab
// kernel) and what each one must show: the outputs that matter, not only that no cell raised.

import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { Test } from 'tap';
import { projectRoot } from '../../harness/paths.js';

export const NOTEBOOK_DIR = path.join(projectRoot, 'notebooks');
export const NOTEBOOKS = readdirSync(NOTEBOOK_DIR).filter((f) => /^\d-.*\.ipynb$/.test(f)).sort();
export const RUNNER = path.join(projectRoot, 'test', 'notebooks', 'run_notebooks.py');
export const PYTHON = '/usr/bin/python3'; // Debian's, which has Jupyter (PATH may hold another python3)

export interface CellRecord {
  index: number;
  status: 'ok' | 'error' | 'timeout';
  message: string;
  source: string;
  stdout: string;
  stderr: string;
  html: string[];
  png: number;
  seconds: number;
}

export interface NotebookRecord {
  path: string;
  kernelPid: number | null;
  kernelStartSeconds?: number;
  runs: { cells: CellRecord[]; seconds: number }[];
  leftovers: { bpfFds: string[]; children: string[] };
  /** Why the notebook could not run at all (its kernel did not start, or died). */
  failure?: string;
}

/** The environment Jupyter needs: tslab (node_modules/.bin) on PATH. */
export const jupyterEnv = { PATH: `${path.join(projectRoot, 'node_modules', '.bin')}:${process.env.PATH}` };

/** Runs notebooks on the host, `runs` times each in one kernel session; executed copies go to build/notebooks/. */
export async function runOnHost(files: string[], runs: number, opts: { cwd?: string } = {}): Promise<NotebookRecord[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'notebooks-test-'));
  try {
    const out = path.join(dir, 'result.json');
    const r = await execa(PYTHON, [RUNNER, '--out', out, '--runs', String(runs), '--executed', path.join(projectRoot, 'build', 'notebooks'), ...(opts.cwd ? ['--cwd', opts.cwd] : []), ...files], {
      cwd: projectRoot,
      env: jupyterEnv,
      reject: false,
      timeout: 15 * 60_000,
    });
    if (r.exitCode !== 0) throw new Error(`run_notebooks.py exited ${r.exitCode}: ${String(r.stderr).slice(-3000)}`);
    return (JSON.parse(await readFile(out, 'utf8')) as { notebooks: NotebookRecord[] }).notebooks;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A failing cell, told the way tslab tells it: its source and its stderr. */
export function cellFailure(c: CellRecord): string {
  return `cell ${c.index} ${c.status}: ${c.source.split('\n').slice(0, 3).join(' / ')}\n--- stderr ---\n${c.stderr || '(none)'}\n--- ${c.message}`;
}

export interface Shown {
  stdout: string;
  html: string;
  png: number;
}

/** Everything one run of a notebook showed. */
export const shown = (run: { cells: CellRecord[] }): Shown => ({
  stdout: run.cells.map((c) => c.stdout).join(''),
  html: run.cells.flatMap((c) => c.html).join('\n'),
  png: run.cells.reduce((n, c) => n + c.png, 0),
});

export type Where = { kind: 'host' } | { kind: 'vm'; bcc: true };

/** The assertions a check uses. */
export type Asserts = Pick<Test, 'ok' | 'equal' | 'same' | 'match' | 'notMatch'>;

type Check = (t: Asserts, s: Shown, where: Where) => void;

const statusOf = (html: string, variant: string): string | undefined =>
  new RegExp(`<td[^>]*>${variant.replace('/', '\\/')}</td><td[^>]*>(PASS|FAIL|SKIP|ERROR)</td>`).exec(html)?.[1];

/**
 * No variant in the notebook's compare table failed; a failure names the variant and quotes what the
 * notebook printed about it (its reason), since the HTML table alone says only FAIL.
 */
const noneFailed = (t: Asserts, s: Shown): void => {
  const failed = [...s.html.matchAll(/<td[^>]*>([\w-]+\/[\w-]+)<\/td><td[^>]*>(FAIL|ERROR)<\/td>/g)].map((m) => m[1]!);
  const said = failed.map((v) => `${v}:\n${s.stdout.split('\n').filter((l) => l.includes(v)).join('\n')}`);
  t.same(failed, [], `no variant failed${said.length ? `\n${said.join('\n')}` : ''}`);
};

/** What each notebook must show, by file name. */
export const CHECKS: Record<string, Check> = {
  '0-your-kernel.ipynb': (t, s) => {
    t.match(s.stdout, /^root +yes$/m, 'the check says the notebook runs as root');
    t.match(s.stdout, /^bpf +yes$/m);
    t.match(s.stdout, /^btf +yes$/m);
    t.match(s.stdout, /^bpftrace +yes +0\.\d+/m, 'bpftrace and its version');
    t.match(s.html, /<table>/, 'the check as an HTML table');
  },
  '1-raw-bpf-insn.ipynb': (t, s) => {
    t.match(s.stdout, /0: b7 00 00 00 02 00 00 00 {2}\(b7\) r0 = 2/, 'the hand-made bytes disassembled');
    t.match(s.stdout, /the builder's bytes are the hand-written ones: true/);
    t.match(s.stdout, /^0: \(b7\) r0 = 2 +; R0(_w)?=2$/m, "the verifier's level-2 log line for mov r0, 2");
    t.match(s.stdout, /BPF_PROG_TEST_RUN: r0 = 2,/, 'the program ran and returned 2');
    t.match(s.stdout, /## no exit: last insn is not an exit or jmp/);
    t.match(s.stdout, /0: \(bf\) r0 = r2 +<-- verifier: R2 !read_ok/, 'the uninitialized register, at its instruction');
    t.match(s.stdout, /0: \(7a\) \*\(u64 \*\)\(r10 \+8\) = 0 +<-- verifier: invalid write to stack R10 off=8 size=8/);
    t.match(s.stdout, /0: \(85\) call unknown#9999 +<-- verifier: invalid func unknown#9999/);
    const ids = /the kernel's copy holds (\d+), (\d+): the maps' ids \(total (\d+), per_pid (\d+)\)/.exec(s.stdout);
    t.ok(ids, 'the translated copy: map fds became map ids');
    if (ids) t.same([ids[1], ids[2]], [ids[3], ids[4]], 'the ids in the translated instructions are the maps’ ids');
    t.match(s.stdout, /calls in the kernel copy: call /, 'the kernel’s calls listed');
  },
  '2-maps.ipynb': (t, s) => {
    t.match(s.stdout, /lookup of key 10 in a 4-entry array: ENOENT/);
    t.match(s.stdout, /delete in an array: EINVAL/);
    t.match(s.stdout, /insert 1000 again with NOEXIST: EEXIST/);
    t.match(s.stdout, /update 3000 \(absent\) with EXIST: ENOENT/);
    t.match(s.stdout, /^update key 2 \(never written\), NOEXIST +EEXIST +ok +EEXIST +ok$/m, 'NOEXIST on an array vs a hash, from the kernel');
    t.match(s.stdout, /^update key 9 \(≥ max_entries\), ANY +E2BIG +ok +E2BIG +ok$/m);
    const cpus = /(\d+) possible CPUs: lookup\(0\) returns (\d+) values/.exec(s.stdout);
    t.ok(cpus && cpus[1] === cpus[2], 'a per-CPU lookup returns one value per possible CPU');
  },
  '3-hello-and-counting.ipynb': (t, s, where) => {
    t.match(s.stdout, /the trace pipe gave \d+ lines, 3 of them from those execs/, 'hello printed once per exec the notebook started');
    t.match(s.stdout, /counted 5 of the 5 execs this notebook started/, 'the raw counter counted exactly the execs started');
    for (const v of ['counter/libbpf', 'counter/ts', 'counter/bpftrace', 'counter/cilium-go']) t.equal(statusOf(s.html, v), 'PASS', `${v} passes against the workload`);
    t.equal(statusOf(s.html, 'counter/bcc'), where.kind === 'vm' ? 'PASS' : 'SKIP', 'BCC runs where there are headers');
    t.equal(statusOf(s.html, 'counter/libbpf-kprobe'), where.kind === 'vm' ? 'PASS' : 'SKIP', 'the kprobe form runs where there are kprobes');
    t.equal(statusOf(s.html, 'counter/cilium-go-kprobe'), where.kind === 'vm' ? 'PASS' : 'SKIP', "the course's own kprobe form, from Go, too");
    t.match(s.html, /counter_cilium\.go/, "the course's Go beside its C");
    t.match(s.html, /type bpfObjects struct \{[\s\S]*?bpfPrograms[\s\S]*?bpfMaps/, "bpf2go's bpfObjects");
    t.match(s.html, /PerPid +\*ebpf\.Map +`ebpf:&quot;per_pid&quot;`/, 'a map as bpf2go names it, tagged with its C name');
    t.match(s.html, /struct counter_bpf \{/, "libbpf's skeleton beside it");
    t.match(s.stdout, /bpf2go: 3 structs \(bpfObjects = bpfPrograms \+ bpfMaps\), the object embedded: \/\/go:embed bpf_bpfel\.o/);
    noneFailed(t, s);
    t.match(s.stdout, /sys_execve +does not exist/);
    t.match(s.stdout, /__x64_sys_execve +exists/);
  },
  '4-execsnoop-four-ways.ipynb': (t, s, where) => {
    for (const v of ['execsnoop/libbpf', 'execsnoop/libbpf-static', 'execsnoop/cilium-go', 'execsnoop/ts', 'execsnoop/bpftrace']) t.equal(statusOf(s.html, v), 'PASS', `${v} passes`);
    t.equal(statusOf(s.html, 'execsnoop/bcc'), where.kind === 'vm' ? 'PASS' : 'SKIP');
    noneFailed(t, s);
    t.match(s.stdout, /libbpf: CO-RE relocating \[\d+\] struct task_struct/, "libbpf's CO-RE log");
    t.match(s.stdout, /^task_struct\.real_parent +\d+ +BTF$/m, 'the offsets the ts tool reads from BTF');
    t.match(s.stdout, /execsnoop-static: [\d.]+ MB; shared libraries: none/);
    t.match(s.stdout, /execsnoop-cilium-go: [\d.]+ MB; shared libraries: none/, 'the Go binary is static too');
    t.match(s.stdout, /^type bpfEvent struct \{\n\tPid +uint32\n/m, "bpf2go's Go type for execsnoop.h's struct event");
    t.match(s.stdout, /^\/\/go:embed bpf_bpfel\.o/m);
    t.match(s.html, /execsnoop_cilium\.go/, 'the Go user side beside the C one');
  },
  '5-across-kernels.ipynb': (t, s) => {
    t.ok(s.png >= 1, `charts drawn as PNG (${s.png})`);
  },
};

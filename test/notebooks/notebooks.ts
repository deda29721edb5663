// Running the notebooks through real Jupyter (harness/notebook/run_notebooks.py: nbclient and the tslab
// kernel) and what each one must show: the outputs that matter, not only that no cell raised.

import { readFile, mkdtemp, rm, mkdir, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import type { Test } from 'tap';
import { projectRoot } from '../../harness/engine/paths.js';

export const NOTEBOOK_DIR = path.join(projectRoot, 'notebooks');
export const NOTEBOOKS = readdirSync(NOTEBOOK_DIR).filter((f) => /^\d-.*\.ipynb$/.test(f)).sort();
import { RUNNER } from '../../harness/commands/notebook.js';
export { RUNNER };
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
  '1-raw-bpf-insn.ipynb': (t, s, where) => {
    t.match(s.stdout, /0: b7 00 00 00 02 00 00 00 {2}\(b7\) r0 = 2/, 'the hand-made bytes disassembled');
    t.match(s.stdout, /the builder's bytes are the hand-written ones: true/);
    t.match(s.stdout, /^0: \(b7\) r0 = 2 +; R0(_w)?=2$/m, "the verifier's level-2 log line for mov r0, 2");
    t.match(s.stdout, /BPF_PROG_TEST_RUN: r0 = 2,/, 'the program ran and returned 2');
    t.match(s.stdout, /## no exit: last insn is not an exit or jmp/);
    t.match(s.stdout, /0: \(bf\) r0 = r2 +<-- verifier: R2 !read_ok/, 'the uninitialized register, at its instruction');
    t.match(s.stdout, /0: \(7a\) \*\(u64 \*\)\(r10 \+8\) = 0 +<-- verifier: invalid write to stack R10 off=8 size=8/);
    t.match(s.stdout, /0: \(85\) call unknown#9999 +<-- verifier: invalid func unknown#9999/);
    const ids = /the kernel's copy holds (\d+), (\d+): the maps' ids \(total (\d+), last (\d+)\)/.exec(s.stdout);
    t.ok(ids, 'the translated copy: map fds became map ids');
    if (ids) t.same([ids[1], ids[2]], [ids[3], ids[4]], 'the ids in the translated instructions are the maps’ ids');
    t.match(s.stdout, /calls in the kernel copy: call /, 'the kernel’s calls listed');
    t.notMatch(s.stdout + s.html, /per_pid/, "lab 2's answer (the per-process count) is not listed");
    // the attribute made by hand and the syscall made in the cell
    t.match(s.html, /<td[^>]*>prog_type<\/td><td[^>]*>0<\/td><td[^>]*>4<\/td><td[^>]*>1<\/td><td[^>]*>01000000<\/td>/, 'the hand-made attr, field by field with offsets and bytes');
    t.match(s.html, /<td[^>]*>log_buf<\/td><td[^>]*>32<\/td><td[^>]*>8<\/td><td[^>]*>0x[0-9a-f]+<\/td>/);
    const fd = /^syscall\(SYS_bpf, BPF_PROG_LOAD, attr, 40\) = (-?\d+)/m.exec(s.stdout);
    t.ok(fd && Number(fd[1]) >= 3, `the syscall made in the cell returned an fd (${fd?.[1]})`);
    t.match(s.stdout, /the verifier's log, as the kernel wrote it into log_buf ---\n[\s\S]*?^0: \(b7\) r0 = 2 +; R0(_w)?=2$/m, "the verifier's log from the hand-made call");
    t.match(s.stdout, /^loadProgram called bpf\(BPF_PROG_LOAD, attr, \d+\) = \d+$/m, 'what the wrapper did, recorded');
    t.match(s.stdout, /macros and builder agree on (\d+) of \1 instructions/, "the course's macros make the builder's bytes");
    t.match(s.stdout, /the course's program with the macros is the hand-written bytes: true/);
    // program types and the helpers each may call, asked of the kernel
    t.match(s.stdout, /^kprobe +call bpf_get_socket_cookie \(46\) +rejected: \S/m, 'a kprobe program may not call a socket helper');
    t.match(s.stdout, /^socket_filter +call bpf_get_socket_cookie \(46\) +accepted$/m);
    t.match(s.stdout, /^tracepoint +call bpf_get_current_pid_tgid \(14\) +accepted$/m);
    t.match(s.stdout, /^socket_filter +call bpf_ktime_get_ns \(5\) +accepted$/m);
    // measured: on 6.18 a socket filter may call bpf_get_current_pid_tgid, on 6.1 (the guest) it may not
    if (where.kind === 'vm') t.match(s.stdout, /^socket_filter +call bpf_get_current_pid_tgid \(14\) +rejected: unknown func bpf_get_current_pid_tgid#14$/m, 'on 6.1 the helper is not for socket filters');
    startersNotYet(t, s, ['1.1', '1.2']);
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
    // the calls by hand
    const create = /^bpf\(BPF_MAP_CREATE, attr, 16\) = (-?\d+)$/m.exec(s.stdout);
    t.ok(create && Number(create[1]) >= 3, `BPF_MAP_CREATE by hand gave an fd (${create?.[1]})`);
    t.match(s.stdout, /^bpf\(BPF_MAP_UPDATE_ELEM, attr, 32\) = 0\nbpf\(BPF_MAP_LOOKUP_ELEM, attr, 24\) = 0\nthe kernel wrote the value into our buffer: 4242$/m);
    t.match(s.stdout, /GET_NEXT_KEY from no key: the first key is 42\nbpf\(BPF_MAP_GET_NEXT_KEY, attr, 24\) = -1, errno 2 \(ENOENT\)/);
    t.match(s.html, /<td[^>]*>next_key<\/td><td[^>]*>16<\/td>/, 'the attribute tables');
    t.match(s.stdout, /^bpf\(BPF_MAP_CREATE, attr, \d+\) = \d+\nbpf\(BPF_MAP_UPDATE_ELEM/m, 'what createMap and update sent, recorded');
    // the course's programs, and its ARRAY-as-hash mistake
    t.match(s.stdout, /echo 5 \| \.\/bpf_syscall_map_array +\(exit 0\)\n.*\n.*key 5 => value 6/);
    t.match(s.stdout, /echo 1000 \| \.\/bpf_syscall_map_array[^\n]*\n.*\n.*No such file or directory/, "the course's ENOENT past the array's end");
    t.match(s.stdout, /echo 2 \| \.\/bpf_syscall_map_hash +\(exit 0\)\n.*\n.*key 2 => value eBPF/);
    t.match(s.stdout, /echo 100 \| \.\/bpf_syscall_map_hash +\(exit 0\)\n.*\n.*key 100 => value \(null\)/, 'a key never written is found in the "hash": it is an array');
    t.match(s.stdout, /the course's "hash" map is a BPF_MAP_TYPE_ARRAY: key 2 holds 0x[0-9a-f]+ \(an address in this process\), key 100 \(never written\) holds 0/);
    t.match(s.stdout, /GET_NEXT_KEY walks 256 keys, not 6/);
    t.match(s.stdout, /in a real hash, BPF_EXIST on a key not yet there: ENOENT/);
    // fds, references and pinning
    t.match(s.stdout, /^bpf\(BPF_OBJ_PIN, \{pathname: "[^"]+", bpf_fd: \d+\}\) = 0$/m, 'the map pinned by hand');
    t.match(s.stdout, /our fd closed; the pin still refers to the map:\n +\d+: hash +name nb2_pinned/, 'the pin keeps the map');
    t.match(s.stdout, /^bpf\(BPF_OBJ_GET, \{pathname: "[^"]+"\}\) = \d+: a new fd on the same map\nkey 1 through the new fd: 11 /m);
    t.match(s.stdout, /pin removed, last fd closed:\n +bpftool says: Error: get map by id \(\d+\): No such file or directory/, 'the last reference gone, the map is gone');
    startersNotYet(t, s, ['2.1', '2.2']);
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
    t.notMatch(s.stdout, /map\[per_pid\]/, "lab 2's answer (the per-process count in raw instructions) is not disassembled");
    startersNotYet(t, s, ['3.1', '3.2']);
  },
  '4-execsnoop-four-ways.ipynb': (t, s, where) => {
    for (const v of ['execsnoop/libbpf', 'execsnoop/libbpf-static', 'execsnoop/cilium-go', 'execsnoop/ts', 'execsnoop/bpftrace']) t.equal(statusOf(s.html, v), 'PASS', `${v} passes`);
    t.equal(statusOf(s.html, 'execsnoop/bcc'), where.kind === 'vm' ? 'PASS' : 'SKIP');
    noneFailed(t, s);
    t.match(s.stdout, /libbpf: CO-RE relocating \[\d+\] struct mm_struct/, "libbpf's CO-RE log");
    t.match(s.stdout, /^mm_struct\.start_stack +\d+ +BTF$/m, 'the offsets the ts tool reads from BTF');
    // no lab's answer: the parent pid's source lines (lab 4), or the keying of lab 6
    t.notMatch(s.stdout + s.html, /real_parent|BPF_CORE_READ|curtask/, 'no line that reads the parent pid');
    // the course's mistakes, compiled
    t.match(s.stdout, /clang -target bpf -D__TARGET_ARCH_x86_64: fails:\n +\S+ error: Must specify a BPF target arch/);
    t.match(s.stdout, /clang -target bpf -D__TARGET_ARCH_x86: compiles/);
    t.match(s.stdout, /the course's perf_buffer__new\(\) against libbpf-dev \S+: fails:\n.*no member named 'sample_cb'/);
    // the ELF: sections named by SEC(), and the map relocations
    t.match(s.html, /<td[^>]*>\.maps<\/td><td[^>]*>PROGBITS<\/td>/, 'the .maps section');
    t.match(s.html, /<td[^>]*>\.BTF\.ext<\/td>/);
    t.match(s.stdout, /^ +tracepoint\/syscalls\/sys_enter_execve +\d+ instructions, \d+ map references: [\w, ]*execs/m, "a program's section and its relocations");
    t.match(s.stdout, /Disassembly of section tracepoint\/syscalls\/sys_enter_execve:[\s\S]*call 6/, "the hello object disassembled");
    t.match(s.html, /<td[^>]*>execsnoop_bpf__load<\/td><td[^>]*>bpf_object__load[^<]*<\/td><td[^>]*>[1-9]\d*<\/td>/, "the skeleton's load step and its log lines");
    t.match(s.stdout, /\t\.\.\. \(\d+ more lines: struct task_struct is \d+ lines here\)/, 'vmlinux.h counted, not a hard-coded figure');
    startersNotYet(t, s, ['4.1', '4.2']);
    t.match(s.stdout, /execsnoop-static: [\d.]+ MB; shared libraries: none/);
    t.match(s.stdout, /execsnoop-cilium-go: [\d.]+ MB; shared libraries: none/, 'the Go binary is static too');
    t.match(s.stdout, /^type bpfEvent struct \{\n\tPid +uint32\n/m, "bpf2go's Go type for execsnoop.h's struct event");
    t.match(s.stdout, /^\/\/go:embed bpf_bpfel\.o/m);
    t.match(s.html, /execsnoop_cilium\.go/, 'the Go user side beside the C one');
  },
  '5-across-kernels.ipynb': (t, s) => {
    t.ok(s.png >= 1, `charts drawn as PNG (${s.png})`);
    t.match(s.html, /<th[^>]*>ready ms<\/th>/, 'the bench as an HTML table');
    t.notMatch(s.stdout, /[┌┬┐└┴┘│]/, 'no box-drawing table in the text'); 
  },
};

// ---------------------------------------------------------------------------------------------------------
// Exercises: the starters in the notebooks must not pass their checks; the instructor's answers
// (test/fixtures/notebooks/answers/N.M.cell) must.
// ---------------------------------------------------------------------------------------------------------

export const ANSWERS_DIR = path.join(projectRoot, 'test', 'fixtures', 'notebooks', 'answers');

interface NbCell {
  cell_type: string;
  source: string | string[];
  metadata: { tags?: string[] };
  outputs?: unknown[];
  execution_count?: number | null;
}
const text = (c: NbCell): string => (Array.isArray(c.source) ? c.source.join('') : c.source);
const tagged = (c: NbCell, tag: string): boolean => (c.metadata.tags ?? []).includes(tag);

/** The exercises of a notebook, by the first line of their cells: `// Exercise 1.1…` → "1.1". */
export async function exerciseIds(file: string): Promise<string[]> {
  const nb = JSON.parse(await readFile(path.join(NOTEBOOK_DIR, file), 'utf8')) as { cells: NbCell[] };
  return nb.cells.filter((c) => tagged(c, 'exercise')).map((c) => /^\/\/ Exercise (\d\.\d)/.exec(text(c))?.[1] ?? '?');
}

/**
 * A copy of the notebook holding only what its exercises need — its first code cell (the imports and the
 * check of what it needs), the cells tagged `exercise-setup`, and each exercise cell, with the instructor's
 * answer in place of the starter, followed by its check — written under build/notebooks-answers/.
 */
export async function answeredNotebook(file: string): Promise<{ path: string; ids: string[] }> {
  const nb = JSON.parse(await readFile(path.join(NOTEBOOK_DIR, file), 'utf8')) as { cells: NbCell[] };
  const firstCode = nb.cells.findIndex((c) => c.cell_type === 'code');
  const ids: string[] = [];
  const cells: NbCell[] = [];
  for (const [i, c] of nb.cells.entries()) {
    if (c.cell_type !== 'code') continue;
    if (tagged(c, 'exercise')) {
      const id = /^\/\/ Exercise (\d\.\d)/.exec(text(c))?.[1];
      if (!id) throw new Error(`${file}: an exercise cell does not start with "// Exercise N.M": ${text(c).slice(0, 60)}`);
      ids.push(id);
      cells.push({ ...c, source: await readFile(path.join(ANSWERS_DIR, `${id}.cell`), 'utf8') });
    } else if (i === firstCode || tagged(c, 'exercise-setup') || tagged(c, 'check')) {
      cells.push(c);
    }
  }
  const out = path.join(projectRoot, 'build', 'notebooks-answers', file);
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, JSON.stringify({ ...nb, cells: cells.map((c) => ({ ...c, outputs: [], execution_count: null })) }, null, 1));
  return { path: out, ids };
}

/** Each check line a notebook printed: id → PASS or the "not yet" sentence. */
export function checkLines(stdout: string): Map<string, string> {
  return new Map([...stdout.matchAll(/^check (\d\.\d): (PASS|not yet — .*)$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** Every exercise of the notebook has a check that ran on the starter and said "not yet", with a reason. */
export function startersNotYet(t: Asserts, s: Shown, ids: string[]): void {
  const lines = checkLines(s.stdout);
  for (const id of ids) t.match(lines.get(id), /^not yet — .{10,}/, `exercise ${id}: the starter does not pass its check, and the check says why`);
}

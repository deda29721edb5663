// What the tracer labs (3–6) share: a student's execsnoop, run against the harness's exec workload and
// graded with the examples' execsnoop grader (harness/grade/tracer-lab.ts, on the host). The libbpf labs build the
// submission in the grading VM with the Makefile's own commands (vmlinux.h from the grading kit's build/bpf).

import path from 'node:path';
import { COURSE_BPFTRACE_EXECSNOOP, COURSE_EXECSNOOP, TABLE_READY, VARIANTS } from '../harness/examples/execsnoop/variants.js';
import { BUILD_DIR, type TracerLabConfig } from '../harness/grade/tracer-lab.js';

const variant = (tool: string) => VARIANTS.find((v) => v.tool === tool)!;

/** The project's own execsnoops: what a correct submission of each kind prints. */
export const BPFTRACE = variant('bpftrace');
export const LIBBPF = variant('libbpf');

/** What lab 3 holds a student's execsnoop.bt to: the course's (sys_enter_execve only), not our script's. */
export const COURSE_BPFTRACE = COURSE_BPFTRACE_EXECSNOOP;

/** Our bpftrace/libbpf execsnoop's ready line, as the driver gets it (a RegExp's source). */
export const readyOf = (v: typeof LIBBPF): string => v.ready.source;

const ARCH = process.arch === 'arm64' ? 'arm64' : 'x86';

/**
 * Build a libbpf execsnoop handed in as execsnoop.bpf.c + execsnoop.c + execsnoop.h, as bpf/Makefile
 * does, into .grade/: the BPF object, its skeleton, the binary (linked against libbpf.so).
 */
export const LIBBPF_BUILD: string[][] = [
  ['clang', '-g', '-O2', '-Wall', '-target', 'bpf', `-D__TARGET_ARCH_${ARCH}`, `-I${BUILD_DIR}`, '-I.', '-c', 'execsnoop.bpf.c', '-o', '.grade/execsnoop.bpf.o'],
  ['sh', '-c', 'bpftool gen skeleton .grade/execsnoop.bpf.o name execsnoop_bpf > .grade/execsnoop.skel.h'],
  ['cc', '-g', '-O2', '-Wall', '-I.grade', '-I.', 'execsnoop.c', '-lbpf', '-o', '.grade/execsnoop'],
];

/**
 * A libbpf lab's tracer: the binary just built, read as the course's libbpf execsnoop is (the course's table and
 * expectations: sys_enter_execve only; our own execsnoop has since grown a SYSCALL column and more doors).
 */
export function libbpfConfig(cfg: Pick<TracerLabConfig, 'cases' | 'views' | 'countMap' | 'capsFrom'> & { expect?: Partial<TracerLabConfig['expect']> }): TracerLabConfig {
  return {
    build: LIBBPF_BUILD,
    command: [path.join('.grade', 'execsnoop')],
    ready: TABLE_READY.source,
    parser: 'execsnoop-table',
    attachTimeoutMs: LIBBPF.attachTimeoutMs,
    // the course's execsnoop prints no parent pid (lab 4 adds it: its views ask for it)
    expect: { ...COURSE_EXECSNOOP, ppid: false, ...cfg.expect },
    cases: cfg.cases,
    views: cfg.views,
    ...(cfg.countMap ? { countMap: cfg.countMap } : {}),
    ...(cfg.capsFrom ? { capsFrom: cfg.capsFrom } : {}),
  };
}

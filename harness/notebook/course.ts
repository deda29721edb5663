// The course's own C programs (bpf/course/, copied verbatim from the course text 004), compiled with gcc as the
// course says ("gcc bpf_syscall_map_array.c -o bpf_syscall_map_array") and run with what a student would type.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { projectRoot } from '../engine/paths.js';

export interface CourseRun {
  /** bpf/course/NAME.c */
  file: string;
  source: string;
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

/** Compiles bpf/course/NAME.c and runs it once per stdin given (its scanf reads the key). */
export function runCourseProgram(name: string, stdins: string[] = ['']): CourseRun[] {
  const file = `bpf/course/${name}.c`;
  const dir = mkdtempSync(path.join(tmpdir(), 'course-'));
  try {
    const exe = path.join(dir, name);
    // -w: the course's code as it is, without the warnings clang and gcc now print about it
    const cc = spawnSync('gcc', ['-w', path.join(projectRoot, file), '-o', exe], { encoding: 'utf8' });
    if (cc.status !== 0) throw new Error(`gcc ${file}: ${cc.stderr.trim()}`);
    const source = readFileSync(path.join(projectRoot, file), 'utf8');
    return stdins.map((input) => {
      const r = spawnSync(exe, [], { input, encoding: 'utf8', timeout: 10_000 });
      return { file, source, stdout: r.stdout, stderr: r.stderr, exitCode: r.status };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface Compiled {
  ok: boolean;
  /** clang's first error lines, paths shortened. */
  errors: string;
  /** The object (when ok and keep was asked); the caller removes `dir`. */
  object?: string;
  dir: string;
}

/**
 * Compiles one C source with clang: a BPF program (`-target bpf`, with build/bpf/vmlinux.h on the include path,
 * as bpf/Makefile does) or a user-space file against libbpf's installed headers (`-fsyntax-only`).
 */
export function compileC(source: string, flags: readonly string[], kind: 'bpf' | 'user' = 'bpf'): Compiled {
  const dir = mkdtempSync(path.join(tmpdir(), 'cc-'));
  const src = path.join(dir, kind === 'bpf' ? 'prog.bpf.c' : 'user.c');
  writeFileSync(src, source);
  const object = path.join(dir, 'prog.bpf.o');
  const args = kind === 'bpf' ? [...flags, '-I', path.join(projectRoot, 'build', 'bpf'), '-c', src, '-o', object] : [...flags, '-fsyntax-only', src];
  const r = spawnSync('clang', args, { encoding: 'utf8' });
  const errors = r.stderr.split('\n').filter((l) => / error: /.test(l)).map((l) => l.replace(`${dir}/`, '')).slice(0, 2).join('\n');
  return { ok: r.status === 0, errors, ...(r.status === 0 && kind === 'bpf' ? { object } : {}), dir };
}

/** compileC, then the temporary folder removed: only whether it compiled and clang's errors. */
export function tryCompile(source: string, flags: readonly string[], kind: 'bpf' | 'user' = 'bpf'): { ok: boolean; errors: string } {
  const r = compileC(source, flags, kind);
  rmSync(r.dir, { recursive: true, force: true });
  return { ok: r.ok, errors: r.errors };
}

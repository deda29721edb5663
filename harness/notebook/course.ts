// The course's own C programs (bpf/course/, copied verbatim from the course text 004), compiled with gcc as the
// course says ("gcc bpf_syscall_map_array.c -o bpf_syscall_map_array") and run with what a student would type.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { projectRoot } from '../paths.js';

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

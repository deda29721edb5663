// Where each lab's starter and reference solution come from. Labs 1–2 (TypeScript) keep theirs as files
// (labs/N/starter/, labs/N/solution/). Labs 3–6 are made from the project's own execsnoop, never copied:
// bpf/execsnoop/ + labs/course-execsnoop.patch is the course's execsnoop (what the labs start from), and
// the lab's starter.patch (its Assignment#N markers) or solution.patch (its answer) goes on top. The course's
// execsnoop holds no lab's answer, so no lab's handout gives another's away.
// Patches rather than marked regions: the project's sources carry no lab markup, each lab's change reads
// as one diff, and a patch that no longer applies (bpf/execsnoop moved on) fails here, naming the hunk.

import { applyPatch, parsePatch } from 'diff';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { projectRoot } from '../harness/engine/paths.js';

export type Side = 'starter' | 'solution';

const LABS_DIR = path.join(projectRoot, 'labs');
const EXECSNOOP = path.join(projectRoot, 'bpf', 'execsnoop');
const COURSE_PATCH = path.join(LABS_DIR, 'course-execsnoop.patch');

/**
 * `files` patched by the unified diff in `patchFile` (a/ and b/ names; text before the first --- is a
 * preamble). `shared`: the patch covers more files than this lab hands in (lab 3 has only the .bt).
 */
export function patched(files: Map<string, string>, patchFile: string, shared = false): Map<string, string> {
  const out = new Map(files);
  for (const p of parsePatch(readFileSync(patchFile, 'utf8'))) {
    const name = (p.newFileName ?? '').replace(/^b\//, '');
    const before = out.get(name);
    if (before === undefined && shared) continue;
    if (before === undefined) throw new Error(`${path.relative(projectRoot, patchFile)}: patches ${name}, which the lab does not have`);
    const after = applyPatch(before, p);
    if (after === false) {
      const hunk = p.hunks.find((h) => applyPatch(before, { ...p, hunks: [h] }) === false) ?? p.hunks[0];
      throw new Error(`${path.relative(projectRoot, patchFile)}: ${name}: the hunk at line ${hunk?.oldStart} no longer applies (its source changed: make the patch again)`);
    }
    out.set(name, after);
  }
  return out;
}

/** The lab's starter or reference solution: file name → text, for the files a submission hands in. */
export function labFiles(lab: { id: string; files: string[] }, side: Side): Map<string, string> {
  const dir = path.join(LABS_DIR, lab.id);
  if (existsSync(path.join(dir, side))) return new Map(lab.files.map((f) => [f, readFileSync(path.join(dir, side, f), 'utf8')]));
  const course = patched(new Map(lab.files.map((f) => [f, readFileSync(path.join(EXECSNOOP, f), 'utf8')])), COURSE_PATCH, true);
  const own = path.join(dir, `${side}.patch`);
  return existsSync(own) ? patched(course, own) : course;
}

/** Writes the lab's starter or solution into `dir` (made if missing). */
export async function writeLabFiles(lab: { id: string; files: string[] }, side: Side, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, text] of labFiles(lab, side)) await writeFile(path.join(dir, name), text);
}

// `./lab grade LAB DIR`: every folder in DIR is one student's submission (the folder's name is the
// student id); each is graded in a fresh VM (vm.ts), N at once with --jobs N, and the results are written
// as a CSV, Gradescope results.json files, a JSON report and a manifest. Progress goes to stderr. Each
// result goes into a journal the moment it is known (journal.ts): an interrupted run loses no finished
// row, and --resume grades only the rest.

import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseOptions } from '../../lib/args.js';
import { UsageError } from '../../lib/errors.js';
import { interruptible } from '../../lib/process.js';
import { LABS, findLab } from '../../labs/index.js';
import { ensureSetup } from '../engine/setup.js';
import type { Lab } from '../grade/lab.js';
import { openJournal, type Journal } from '../grade/journal.js';
import { csvRows, gradescopeResults, hashSubmission, mergeCsv, shardOf, toCsv, total } from '../grade/outputs.js';
import { gradeHere, missingFiles } from '../grade/run.js';
import { gradeInVm, type GradedSubmission } from '../grade/vm.js';
import { similarGroups } from '../grade/similar.js';

export const USAGE = `usage: ./lab grade LAB DIR [--csv FILE] [--gradescope DIR] [--json FILE] [--manifest FILE]
                   [--only STUDENT]... [--jobs N] [--shard i/n] [--similar] [--kernel K | --target host]
                   [--journal FILE] [--resume]
       ./lab grade --merge SHARD.csv... [--csv FILE]
  grade every submission folder in DIR (its name is the student id) for LAB (${LABS.map((l) => l.id).join(', ')}),
  each in a fresh VM booted on Debian kernel K (default 6.1) with its own time, memory and process limits.
  --csv: one row per student and check, then a TOTAL row; --gradescope: DIR/STUDENT/results.json;
  --shard i/n: grade only the i-th of n parts of the class (one machine each); --merge joins their CSVs.
  --similar: which submissions loaded the same program once map fds and constants are normalized.
  --manifest (default: beside the CSV or in the Gradescope folder): kernel, tools, checks' version and a
  hash of every submission. --target host runs the student's code on this machine's kernel: only for
  your own reference solution, never for students' code.
  --journal (default: beside the CSV or the JSON, or in the Gradescope folder): each result as it is
  graded; --resume grades only the submissions it does not hold (or whose files changed), and writes the
  same outputs as one uninterrupted run. A folder whose name is not a plain id (letters, digits, . _ @ -)
  is graded too: the CSV keeps its name, Gradescope gets a safe one (Jose-Garcia-1a2b3c).
  Exit 0 when every submission was graded (whatever it scored), 1 when the grader failed on some check,
  2 bad usage or environment.`;

const STUDENT_ID = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;

/**
 * A name safe in a path, a command line and Gradescope's folders for a folder named otherwise ("José
 * García" → "Jose-Garcia-" and 6 hex digits of its name's hash, so two odd names never meet).
 */
export function safeStudentId(folder: string): string {
  if (STUDENT_ID.test(folder)) return folder;
  const base = folder.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').replace(/[^A-Za-z0-9._@-]+/g, '-').replace(/^[^A-Za-z0-9]+|-+$/g, '').slice(0, 40);
  return `${base || 'student'}-${createHash('sha256').update(folder).digest('hex').slice(0, 6)}`;
}

/** The class folder's submissions in name order; folders starting with a dot (.git) are not students. */
async function submissions(dir: string): Promise<string[]> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) throw new UsageError(`grade: ${dir} is not a directory (one folder per student expected)`);
  return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && e.name !== 'node_modules' && !e.name.startsWith('.')).map((e) => e.name).sort();
}

async function toolVersions(): Promise<Record<string, string>> {
  const first = async (cmd: string, args: string[]) => {
    const r = await execa(cmd, args, { reject: false, timeout: 10_000 });
    return r.exitCode === 0 ? String(r.stdout || r.stderr).split('\n')[0]!.trim() : 'not installed';
  };
  return {
    node: process.version,
    qemu: await first('qemu-system-x86_64', ['--version']),
    bpftrace: await first('bpftrace', ['--version']),
    clang: await first('clang', ['--version']),
  };
}

function elapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** Runs `work` over `items`, `jobs` at a time, in order of start; once `signal` aborts, starts no more. */
async function pool<T, R>(items: T[], jobs: number, signal: AbortSignal, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(jobs, items.length) }, async () => {
      while (next < items.length) {
        signal.throwIfAborted();
        const i = next++;
        out[i] = await work(items[i]!, i);
      }
    }),
  );
  return out;
}

export async function gradeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(
    {
      args: argv,
      allowPositionals: true,
      options: {
        csv: { type: 'string' },
        gradescope: { type: 'string' },
        json: { type: 'string' },
        manifest: { type: 'string' },
        only: { type: 'string', multiple: true },
        jobs: { type: 'string', default: '1' },
        kernel: { type: 'string', default: '6.1' },
        target: { type: 'string', default: 'qemu' },
        similar: { type: 'boolean', default: false },
        shard: { type: 'string' },
        merge: { type: 'boolean', default: false },
        journal: { type: 'string' },
        resume: { type: 'boolean', default: false },
      },
    },
    USAGE,
  );
  if (values.merge) {
    if (positionals.length === 0) throw new UsageError('grade --merge: name the shards\' CSV files');
    const texts = await Promise.all(positionals.map(async (name) => ({ name, text: await readFile(name, 'utf8').catch(() => { throw new UsageError(`grade --merge: cannot read ${name}`); }) })));
    const merged = toCsv(mergeCsv(texts));
    if (values.csv) await writeFile(values.csv, merged);
    else process.stdout.write(merged);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError(`grade: expected LAB and DIR\n\n${USAGE}`);
  const lab = findLab(positionals[0]!);
  const dir = path.resolve(positionals[1]!);
  const jobs = Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`grade: --jobs must be a positive integer, not "${values.jobs}"`);
  if (values.target !== 'qemu' && values.target !== 'host') throw new UsageError(`grade: --target must be qemu or host, not "${values.target}"`);
  let students = await submissions(dir);
  if (values.only) {
    for (const s of values.only) if (!students.includes(s)) throw new UsageError(`grade: no submission "${s}" in ${dir}`);
    students = students.filter((s) => values.only!.includes(s));
  }
  if (values.shard) students = shardOf(students, values.shard);

  if (values.target === 'qemu') await ensureSetup({ build: true, kernels: [values.kernel], log: (l) => process.stderr.write(`lab grade: ${l}\n`) });
  else process.stderr.write('lab grade: --target host: the submissions run on this machine\'s kernel, without a VM\n');

  const journalFile = values.journal ?? (values.csv ? `${values.csv.replace(/\.csv$/, '')}.journal.jsonl` : values.json ? `${values.json.replace(/\.json$/, '')}.journal.jsonl` : values.gradescope ? path.join(values.gradescope, 'journal.jsonl') : undefined);
  if (values.resume && !journalFile) throw new UsageError('grade --resume: no journal to resume from (give --csv, --json, --gradescope or --journal as in the first run)');
  if (values.gradescope) await mkdir(values.gradescope, { recursive: true });
  const target = values.target === 'qemu' ? `qemu ${values.kernel}` : 'host';
  const journal: Journal | undefined = journalFile
    ? await openJournal(journalFile, { schema: 1, lab: lab.id, checksVersion: lab.version, target }, values.resume, (l) => process.stderr.write(`lab grade: ${l}\n`))
    : undefined;
  const hashes = new Map(await Promise.all(students.map(async (s) => [s, await hashSubmission(path.join(dir, s))] as const)));
  const kept = new Map<string, GradedSubmission>();
  // kept: graded before, the same files since, and not a failure of the grader's own (those are graded again)
  for (const [folder, e] of journal?.done ?? []) {
    if (students.includes(folder) && hashes.get(folder) === e.sha256 && !e.graded.results.some((r) => r.status === 'error')) kept.set(folder, e.graded);
  }
  if (journal && values.resume) process.stderr.write(`lab grade: resuming from ${journal.file}: ${kept.size} of ${students.length} already graded\n`);

  const started = Date.now();
  let done = kept.size;
  const fresh = await interruptible((signal) =>
    pool(students.filter((s) => !kept.has(s)), jobs, signal, async (student) => {
      process.stderr.write(`lab grade: [${done}/${students.length}] ${student}: grading (elapsed ${elapsed(Date.now() - started)})\n`);
      const t0 = Date.now();
      // a folder without the files the lab asks for needs no VM to say so
      const missing = lab.files.filter((f) => !existsSync(path.join(dir, student, f)));
      const g: GradedSubmission =
        missing.length > 0
          ? { student, results: missingFiles(lab as Lab<unknown>, missing), bootMs: -1, totalMs: Date.now() - t0 }
          : values.target === 'qemu'
          ? await gradeInVm(lab as Lab<unknown>, path.join(dir, student), student, { kernel: values.kernel, signal })
          : { student, ...(await gradeHere(lab as Lab<unknown>, path.join(dir, student), signal)), bootMs: -1, totalMs: Date.now() - t0 };
      // a result that came in after Ctrl-C may have been cut short by it (the student's processes got the
      // signal too, a VM was stopped): not journaled, so --resume grades it again
      signal.throwIfAborted();
      await journal?.append({ folder: student, sha256: hashes.get(student)!, graded: g });
      done++;
      const t = total(g.results);
      process.stderr.write(`lab grade: [${done}/${students.length}] ${student}: ${t.points}/${t.max} in ${elapsed(g.totalMs)} (elapsed ${elapsed(Date.now() - started)})\n`);
      return g;
    }),
  );
  // in the class's order, whichever run graded them
  const byFolder = new Map([...kept, ...fresh.map((g) => [g.student, g] as const)]);
  const graded = students.map((s) => byFolder.get(s)!);

  const rows = csvRows(lab.id, graded);
  if (values.csv) await writeFile(values.csv, toCsv(rows));
  if (values.gradescope) {
    for (const g of graded) {
      await mkdir(path.join(values.gradescope, safeStudentId(g.student)), { recursive: true });
      await writeFile(path.join(values.gradescope, safeStudentId(g.student), 'results.json'), JSON.stringify(gradescopeResults(g), null, 1) + '\n');
    }
  }
  if (values.json) await writeFile(values.json, JSON.stringify({ schema: 1, lab: lab.id, graded }, null, 1) + '\n');
  const manifestFile = values.manifest ?? (values.csv ? `${values.csv.replace(/\.csv$/, '')}.manifest.json` : values.gradescope ? path.join(values.gradescope, 'manifest.json') : undefined);
  if (manifestFile) {
    const manifest = {
      schema: 1,
      lab: lab.id,
      checksVersion: lab.version,
      checks: lab.checks.map((c) => ({ id: c.id, points: c.points, hidden: Boolean(c.hidden) })),
      target: values.target === 'qemu' ? { kind: 'qemu', kernel: values.kernel } : { kind: 'host' },
      tools: await toolVersions(),
      submissions: students.map((s) => ({ student: s, ...(safeStudentId(s) !== s ? { id: safeStudentId(s) } : {}), sha256: hashes.get(s)! })),
      gradedAt: new Date().toISOString(),
    };
    await writeFile(manifestFile, JSON.stringify(manifest, null, 1) + '\n');
  }
  if (!values.csv && !values.gradescope && !values.json) process.stdout.write(toCsv(rows));
  if (values.similar) {
    const groups = similarGroups(graded);
    const with_ = graded.filter((g) => g.program).length;
    process.stdout.write(`similar programs (map fds and constants normalized), of ${with_} that loaded one:\n`);
    for (const g of groups) process.stdout.write(`  ${g.students.join(', ')}: the same ${g.instructions} instructions\n`);
    if (groups.length === 0) process.stdout.write('  none\n');
    if (lab.program === undefined) process.stdout.write(`  (lab ${lab.id} loads no program of the student's own to compare)\n`);
  }
  if (graded.some((g) => g.results.some((r) => r.status === 'error'))) {
    process.stderr.write('lab grade: the grader itself failed on some checks (status error); see their feedback\n');
    return 1;
  }
  return 0;
}


// The grading journal: one line per submission, appended (and flushed to disk) the moment it is graded,
// so that Ctrl-C, a crash or a killed grader loses no finished row, and `./lab grade … --resume` grades only
// the rest. The first line says what was being graded; a resume against another lab, checks' version or
// target is refused rather than mixed. A submission whose files changed since its line is graded again.

import { appendFile, open, readFile, writeFile } from 'node:fs/promises';
import { UsageError } from '../../lib/errors.js';
import type { GradedSubmission } from './vm.js';

export interface JournalHeader {
  schema: 1;
  lab: string;
  checksVersion: string | number;
  /** 'host', or 'qemu KERNEL'. */
  target: string;
}

export interface JournalEntry {
  /** The submission's folder name in the class folder. */
  folder: string;
  /** hashSubmission() of the folder when it was graded. */
  sha256: string;
  graded: GradedSubmission;
}

export interface Journal {
  file: string;
  /** What earlier runs graded (with --resume), by folder. */
  done: Map<string, JournalEntry>;
  append(entry: JournalEntry): Promise<void>;
}

/** The journal's lines; a last line cut short by a crash mid-write is left out. */
export function parseJournal(text: string, file: string): { header: JournalHeader; entries: JournalEntry[] } {
  const lines = text.split('\n').filter((l) => l.trim());
  const parsed: unknown[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      parsed.push(JSON.parse(line));
    } catch {
      if (i === lines.length - 1) break; // the write a crash interrupted
      throw new UsageError(`grade --resume: ${file} line ${i + 1} is not JSON: the journal is damaged (grade without --resume to start over)`);
    }
  }
  const header = parsed[0] as JournalHeader | undefined;
  if (header?.schema !== 1) throw new UsageError(`grade --resume: ${file} is not a grading journal`);
  return { header, entries: parsed.slice(1) as JournalEntry[] };
}

/**
 * Opens the journal at `file` for this run. With `resume`, the entries of an earlier run of the same lab,
 * checks and target are kept; without it, the journal starts over (an earlier one is replaced, saying so).
 */
export async function openJournal(file: string, header: JournalHeader, resume: boolean, log: (line: string) => void): Promise<Journal> {
  const done = new Map<string, JournalEntry>();
  const old = await readFile(file, 'utf8').catch(() => undefined);
  if (resume) {
    if (old === undefined) throw new UsageError(`grade --resume: no journal at ${file} (nothing was graded with these outputs yet)`);
    const { header: was, entries } = parseJournal(old, file);
    for (const key of ['lab', 'checksVersion', 'target'] as const) {
      if (String(was[key]) !== String(header[key])) throw new UsageError(`grade --resume: ${file} was written for ${key} ${was[key]}, not ${header[key]} (grade without --resume to start over)`);
    }
    for (const e of entries) done.set(e.folder, e);
  } else if (old !== undefined && old.split('\n').filter(Boolean).length > 1) {
    log(`starting over: ${file} held ${old.split('\n').filter(Boolean).length - 1} graded submissions of an earlier run (--resume keeps them)`);
  }
  // the header, then the kept entries: the file is whole again before any new line is added
  await writeFile(file, [header, ...done.values()].map((x) => JSON.stringify(x)).join('\n') + '\n');
  return {
    file,
    done,
    async append(entry) {
      const handle = await open(file, 'a');
      try {
        await appendFile(handle, JSON.stringify(entry) + '\n');
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
  };
}

// `./lab compare`, from a cell: the same session, workload and graders, on the kernel the notebook runs on.

import { compareHere } from '../commands/compare.js';
import { formatTables } from '../engine/report.js';
import type { CompareReport } from '../engine/types.js';

export interface NotebookCompare {
  report: CompareReport;
  /** The tables `./lab compare` prints. */
  text: string;
  /** A row per variant: its verdict, the cases it matched, and each difference with its reason. */
  rows: { variant: string; status: string; matched: string; 'why it differs (declared) or was skipped': string }[];
}

/** Runs the variants of `examples` (and `tools`, when given) here, against the workload; progress to `log`. */
export async function compare(examples: string[], tools: string[] = [], log: (line: string) => void = () => {}): Promise<NotebookCompare> {
  const report = await compareHere({ target: 'host', kernel: 'host', examples, tools, serial: false, verbose: false }, undefined, log);
  const rows = report.variants.map((v) => ({
    variant: v.name,
    status: v.status.toUpperCase(),
    matched: v.status === 'skip' ? '' : `${v.matched} of ${v.expected}`,
    'why it differs (declared) or was skipped':
      v.status === 'skip' || v.status === 'error' ? (v.reason ?? '') : [...new Set(v.details.map((d) => `${d.level === 'failure' ? 'FAIL ' : ''}${d.text}`))].join('\n'),
  }));
  return { report, text: formatTables(report), rows };
}

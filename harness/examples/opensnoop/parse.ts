// Reads our opensnoops' rows (bpf/opensnoop/format.ts) into OpenEvents. Every one of them escapes the path, so
// a row is always one line. bpftrace adds lines of its own on stdout: "Lost N events" when its perf buffer
// overflowed (the events are then missing, as the grader will say), and blank lines as it exits. Anything
// else is output this reader does not know, and fails the variant with the line.

import { parseRow } from '../../../bpf/opensnoop/format.js';
import type { OutputReader } from '../../engine/example.js';
import type { OpenEvent } from './events.js';

const BPFTRACE_OWN = /^(Lost \d+ events)?$/;

export function createTableReader(): OutputReader<OpenEvent> {
  return {
    line(text) {
      const row = parseRow(text);
      if (row) return [row];
      if (BPFTRACE_OWN.test(text)) return [];
      throw new Error(`not an opensnoop row: ${JSON.stringify(text)}`);
    },
    end: () => [],
  };
}

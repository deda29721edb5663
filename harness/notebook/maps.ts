// Notebook 2's table of what each update flag does on each map type, produced by asking the kernel: every
// cell of it is one bpf() call on a fresh map, and its answer (ok, or the errno it gave).

import { BpfError } from '../../bpf/ts/errors.js';
import { createMap, type BpfMap } from '../../bpf/ts/map.js';
import { u32, u64 } from '../../bpf/ts/codec.js';
import type { UpdateFlagName } from '../../bpf/ts/attr.js';

export const FLAG_TABLE_TYPES = ['array', 'hash', 'percpu_array', 'percpu_hash'] as const;
export type FlagTableType = (typeof FLAG_TABLE_TYPES)[number];

const MAX_ENTRIES = 4;

/** One operation of the table: what it does to a map that already holds key 1 (and nothing else written). */
interface Operation {
  what: string;
  run(m: BpfMap<number, any>, value: unknown): void;
}

const update = (key: number, flag: UpdateFlagName): Operation['run'] => (m, v) => m.update(key, v as never, flag);

/** Key 1 was written before each operation; key 2 never was; key 9 is beyond max_entries (4). */
export const OPERATIONS: Operation[] = [
  { what: 'update key 2 (never written), ANY', run: update(2, 'any') },
  { what: 'update key 2 (never written), NOEXIST', run: update(2, 'noexist') },
  { what: 'update key 2 (never written), EXIST', run: update(2, 'exist') },
  { what: 'update key 1 (written), ANY', run: update(1, 'any') },
  { what: 'update key 1 (written), NOEXIST', run: update(1, 'noexist') },
  { what: 'update key 1 (written), EXIST', run: update(1, 'exist') },
  { what: 'lookup key 2 (never written)', run: (m) => void m.lookup(2) },
  { what: 'delete key 1 (written)', run: (m) => m.delete(1) },
  { what: 'lookup key 9 (≥ max_entries)', run: (m) => void m.lookup(9) },
  { what: 'update key 9 (≥ max_entries), ANY', run: update(9, 'any') },
];

/** ok, or the errno name the kernel answered. */
function outcome(fn: () => void): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof BpfError && err.errno !== undefined) return err.code;
    throw err;
  }
}

/** Rows: one per operation, a column per map type, each cell the kernel's answer. */
export function flagTable(types: readonly FlagTableType[] = FLAG_TABLE_TYPES): Record<string, string>[] {
  return OPERATIONS.map((op) => {
    const row: Record<string, string> = { operation: op.what };
    for (const type of types) {
      const perCpu = type.startsWith('percpu');
      const m = createMap({ name: `nb_flags_${type}`.slice(0, 15), type, key: u32, value: u64, maxEntries: MAX_ENTRIES }) as BpfMap<number, any>;
      try {
        const cpus = perCpu ? (m.value.size / 8) : 1;
        const value = perCpu ? Array.from({ length: cpus }, () => 7n) : 7n;
        m.update(1, value as never, 'any');
        row[type] = outcome(() => op.run(m, value));
      } finally {
        m.close();
      }
    }
    return row;
  });
}

import t from 'tap';
import { flagTable, OPERATIONS } from '../../../harness/notebook/maps.js';
import { requireRoot } from '../../lib/kernel.js';

t.test("the flag table is the kernel's answers, one system call per cell", async (t) => {
  if (!requireRoot(t)) return;
  const rows = flagTable();
  t.equal(rows.length, OPERATIONS.length);
  const row = (what: string) => rows.find((r) => r.operation.startsWith(what))!;
  // the documented semantics (Documentation/bpf/map_array.rst, map_hash.rst), for plain and per-CPU alike
  t.same(row('update key 2 (never written), NOEXIST'), { operation: row('update key 2 (never written), NOEXIST').operation, array: 'EEXIST', hash: 'ok', percpu_array: 'EEXIST', percpu_hash: 'ok' });
  t.same(row('update key 2 (never written), EXIST'), { ...row('update key 2 (never written), EXIST'), array: 'ok', hash: 'ENOENT', percpu_array: 'ok', percpu_hash: 'ENOENT' });
  t.match(row('update key 1 (written), NOEXIST'), { array: 'EEXIST', hash: 'EEXIST' });
  t.match(row('delete key 1'), { array: 'EINVAL', hash: 'ok' });
  t.match(row('lookup key 9'), { array: 'ENOENT', hash: 'ENOENT' });
  t.match(row('update key 9'), { array: 'E2BIG', hash: 'ok' });
});

// Unit tests for `./lab vm`: usage errors, the kernels table, the offline listing. No VM is booted.

import t from 'tap';
import { UsageError } from '../../lib/errors.js';
import { formatTable, kernelsTable, vmCommand } from '../../vm/cli.js';
import { KERNELS } from '../../vm/kernels.js';

t.test('bad usage is a usage error that says what is wrong', async (t) => {
  await t.rejects(vmCommand(['run', '--kernel', '6.1', 'true']), { constructor: UsageError, message: /put the command after --/ });
  await t.rejects(vmCommand(['run', '--kernel', '6.1', '--']), { constructor: UsageError, message: /no command after --/ });
  await t.rejects(vmCommand(['run', '--', 'true']), { constructor: UsageError, message: /--kernel is required/ });
  await t.rejects(vmCommand(['run', '--kernel', '3.2', '--', 'true']), { constructor: UsageError, message: /unknown kernel "3\.2"/ });
  await t.rejects(vmCommand(['run', '--kernel', '6.1', '--timeout', 'soon', '--', 'true']), { constructor: UsageError, message: /--timeout must be a positive number/ });
  await t.rejects(vmCommand(['run', '--kernel', '6.1', '--env', 'NOEQUALS', '--', 'true']), { constructor: UsageError, message: /--env wants NAME=VALUE/ });
  await t.rejects(vmCommand(['run', '--kernel', '6.1', '--accel', 'hvf', '--', 'true']), { constructor: UsageError, message: /--accel must be kvm or tcg/ });
  await t.rejects(vmCommand(['run', '--kernel', '6.1', '--bogus', '--', 'true']), { constructor: UsageError, message: /Unknown option '--bogus'/ });
  await t.rejects(vmCommand(['frobnicate']), { constructor: UsageError, message: /unknown subcommand "frobnicate"/ });
  await t.rejects(vmCommand(['kernels', '--refresh', '--offline']), { constructor: UsageError, message: /contradict/ });
});

t.test('the kernels table shows archive, cache and headers per kernel', async (t) => {
  const text = kernelsTable([
    { name: '6.1', suite: 'bookworm', release: '6.1.0-51-amd64', debianVersion: '6.1.177-1', cached: true, cachedRelease: '6.1.0-50-amd64', cachedDebianVersion: '6.1.176-1', cachedBytes: 411_825_572, headers: true, headersBytes: 59_042_138 },
    { name: '7.2', suite: 'forky', archiveError: 'no package lists yet (run without --offline)', cached: false, headers: false },
  ]);
  const lines = text.trimEnd().split('\n');
  t.match(lines[0], /^KERNEL\s+SUITE\s+ARCHIVE \(linux-image-amd64\)\s+CACHED\s+SIZE\s+HEADERS$/);
  t.match(lines[1], /^6\.1\s+bookworm\s+6\.1\.0-51-amd64 \(6\.1\.177-1\)\s+6\.1\.0-50-amd64 \(6\.1\.176-1\) — older than the archive\s+411\.8 MB\s+yes, 59\.0 MB$/);
  t.match(lines[2], /^7\.2\s+forky\s+\? no package lists yet \(run without --offline\)\s+no$/);
  t.equal(formatTable([['a', 'bb'], ['ccc', 'd']]), 'a    bb\nccc  d\n', 'columns line up, no trailing blanks');
});

t.test('`vm kernels --offline --json` lists every kernel without touching the network', async (t) => {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => chunks.push(String(chunk)) > 0) as typeof process.stdout.write;
  let code: number;
  try {
    code = await vmCommand(['kernels', '--offline', '--json']);
  } finally {
    process.stdout.write = write;
  }
  t.equal(code, 0);
  const rows = JSON.parse(chunks.join('')) as { name: string; suite: string; cached: boolean }[];
  t.same(rows.map((r) => [r.name, r.suite]), KERNELS.map((k) => [k.name, k.suite]));
});

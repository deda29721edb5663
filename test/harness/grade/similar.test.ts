import t from 'tap';
import { asm, assemble, R0, R1, R2, R10 } from '../../../bpf/ts/insn.js';
import { normalizedListing, similarGroups } from '../../../harness/grade/similar.js';

const prog = (fd: number, constant: number, extra = false) =>
  assemble(
    [
      asm.st('w', R10, -4, constant),
      asm.ldMapFd(R1, 'm'),
      asm.mov(R2, R10),
      asm.add(R2, -4),
      asm.call('map_lookup_elem'),
      ...(extra ? [asm.mov(R0, 1)] : []),
      asm.mov(R0, 0),
      asm.exit(),
    ],
    { maps: { m: fd } },
  )
    .encode()
    .toString('hex');

t.test('programs differing only in map fds and constants are the same; another instruction is not', async (t) => {
  const groups = similarGroups([
    { student: 'b', program: prog(5, 0) },
    { student: 'a', program: prog(9, 7) },
    { student: 'c', program: prog(5, 0, true) },
    { student: 'd' },
  ]);
  t.same(groups, [{ students: ['a', 'b'], instructions: 7 }]);
});

t.test('a call keeps its helper id: a different helper is a different program', async (t) => {
  const call = (helper: 'map_lookup_elem' | 'map_delete_elem') => assemble([asm.call(helper), asm.exit()]).encode();
  t.not(normalizedListing(call('map_lookup_elem')), normalizedListing(call('map_delete_elem')));
  t.match(normalizedListing(call('map_lookup_elem')), /call bpf_map_lookup_elem/);
});

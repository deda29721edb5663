import t from 'tap';
import { parseQemuVersion, tcgRaceFixed } from '../../vm/qemu-build.js';

t.test('the QEMU version is read from --version as Debian prints it', async (t) => {
  t.same(parseQemuVersion('QEMU emulator version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright (c) 2003-2022'), [7, 2, 19]);
  t.same(parseQemuVersion('QEMU emulator version 10.0.2 (Debian 1:10.0.2+ds-2+deb13u1~bpo12+1)'), [10, 0, 2]);
  t.same(parseQemuVersion('QEMU emulator version 9.1'), [9, 1, 0]);
  t.equal(parseQemuVersion('qemu-system-x86_64: command not found'), undefined);
});

t.test('the multi-threaded TCG race is fixed from 8.2.6, 9.0.2 and 9.1 on', async (t) => {
  const fixed = (v: string) => tcgRaceFixed(v.split('.').map(Number) as [number, number, number]);
  for (const v of ['7.2.19', '8.0.5', '8.1.5', '8.2.5', '9.0.1']) t.equal(fixed(v), false, `${v} has the race`);
  for (const v of ['8.2.6', '8.2.10', '9.0.2', '9.1.0', '9.2.3', '10.0.2', '11.0.0']) t.equal(fixed(v), true, `${v} is fixed`);
});

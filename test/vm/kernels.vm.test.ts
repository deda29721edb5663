// Every kernel of the matrix, fetched (or taken from the cache) with its headers and booted: each
// packaging (lib/modules and .ko, usr/lib/modules and .ko.xz, forky's linux-binary/linux-modules split)
// must give a guest whose release, modules and headers line up.

import t from 'tap';
import { ensureKernel, KERNELS } from '../../vm/kernels.js';
import { runInVm } from '../../vm/qemu.js';

t.setTimeout(30 * 60_000);
t.comment(`timeout=${30 * 60_000}`);

for (const { name } of KERNELS) {
  t.test(`kernel ${name} boots with its own modules and headers`, async (t) => {
    const kernel = await ensureKernel(name, { headers: true });
    // Debian splits the headers: build/ holds the generated and config files, source/ the common tree.
    const script = [
      'd=/lib/modules/$(uname -r)',
      'uname -r',
      'test -f $d/build/include/generated/autoconf.h && test -f $d/source/include/linux/bpf.h && echo headers',
      'test -f $d/modules.dep && echo modules',
    ].join('; ');
    const r = await runInVm({ kernel: name, command: ['sh', '-c', script], timeoutMs: 240_000 });
    t.equal(r.exitCode, 0, r.stderr);
    t.same(r.stdout.trim().split('\n'), [kernel.release, 'headers', 'modules']);
    t.comment(`${name}: ${kernel.release} (${kernel.debianVersion}), ${r.accel}, boot ${r.bootMs} ms, total ${r.totalMs} ms`);
  });
}

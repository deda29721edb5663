// What goes into the project's Vagrant box, checked without building it (vagrant.vm.test.ts builds it).

import t from 'tap';
import { execa } from 'execa';
import { projectRoot } from '../../harness/engine/paths.js';
import { guestPackages } from '../../vm/vagrant-box.js';

t.test('the box has every Debian package ./lab installs on a host, but QEMU and Chromium, plus the kernel headers, sshd and Jupyter', async (t) => {
  const own = String((await execa('./lab', ['--print-debian-packages'], { cwd: projectRoot })).stdout).split('\n').filter(Boolean);
  const guest = await guestPackages(projectRoot);
  for (const p of own) if (p !== 'qemu-system-x86' && p !== 'chromium') t.ok(guest.includes(p), p);
  t.notOk(guest.includes('qemu-system-x86'), 'the guest boots no VM of its own');
  t.notOk(guest.includes('chromium'), 'nor drives a browser');
  for (const p of ['linux-image-amd64', 'linux-headers-amd64', 'openssh-server', 'sudo', 'rsync', 'jupyter-notebook']) t.ok(guest.includes(p), p);
  t.same(guest, [...new Set(guest)].sort(), 'sorted, once each (the list is part of the cache key)');
});

// The Vagrant target's pieces that need no VM: what a user is told when vagrant up fails, and the
// box's own Vagrantfile. The rest runs for real in vagrant.vm.test.ts.

import t from 'tap';
import { explainUpFailure } from '../../vm/vagrant.js';
import { BOX_VAGRANTFILE } from '../../vm/vagrant-box.js';

t.test('a missing box tells how to build one or which setting names another', async (t) => {
  const out = "The box 'ebpf-lab/debian12' could not be found or\ncould not be accessed in the remote catalog.";
  t.match(explainUpFailure(out, 'ebpf-lab/debian12', 'libvirt'), /^no box "ebpf-lab\/debian12" and no way to download it: build the project's box with \.\/lab vm vagrant-box, or set LAB_VAGRANT_BOX/);
});

t.test('missing nested virtualization says what to enable, per provider', async (t) => {
  const vbox = 'VT-x is not available (VERR_VMX_NO_VMX)';
  t.match(explainUpFailure(vbox, 'debian/bookworm64', 'virtualbox'), /nested virtualization is off .* or use libvirt, which falls back to TCG/);
  t.match(explainUpFailure('Error: kvm not available', 'x', 'libvirt'), /LAB_ACCEL=tcg/);
});

t.test('any other failure keeps vagrant’s own last lines, without its progress bars and colours', async (t) => {
  const out = 'Progress: 10%\rProgress: 99%\r\n\x1b[31mError while creating domain: boom\x1b[0m\n';
  t.equal(explainUpFailure(out, 'b', 'libvirt'), 'Error while creating domain: boom');
});

t.test('the box boots its own kernel: vagrant-libvirt is given the kernel, the initrd and the root device', async (t) => {
  t.match(BOX_VAGRANTFILE, /lv\.kernel = File\.join\(__dir__, "vmlinuz"\)/);
  t.match(BOX_VAGRANTFILE, /lv\.initrd = File\.join\(__dir__, "initrd\.img"\)/);
  t.match(BOX_VAGRANTFILE, /root=\/dev\/vda/);
});

// The command line's outside contract (docs/CONTRACT.md): usage, --help, exit codes for bad usage and for
// what is not written yet. Runs the real CLI; nothing here needs root or touches the kernel.

import t from 'tap';
import { execa } from 'execa';
import { projectRoot } from '../../harness/engine/paths.js';

const lab = (...args: string[]) =>
  execa('node', ['--import', 'tsx', 'harness/commands/cli.ts', ...args], { cwd: projectRoot, reject: false, env: { LAB_IN_VM: '1' } });

t.test('./lab --help lists every command and exits 0; no command is bad usage', async (t) => {
  const help = await lab('--help');
  t.equal(help.exitCode, 0);
  for (const c of ['setup', 'compare', 'trace', 'matrix', 'vm', 'test', 'notebook', 'grade', 'bench']) t.match(help.stdout, new RegExp(`^  ${c} `, 'm'), c);
  const none = await lab();
  t.equal(none.exitCode, 2);
  t.match(none.stdout, /^usage: \.\/lab COMMAND/);
});

for (const command of ['setup', 'compare', 'trace', 'matrix', 'vm', 'test', 'bench']) {
  t.test(`./lab ${command} --help prints its usage on stdout and exits 0`, async (t) => {
    const r = await lab(command, '--help');
    t.equal(r.exitCode, 0, r.stderr);
    t.match(r.stdout, new RegExp(`\\./lab ${command}\\b`));
    t.equal(r.stderr, '');
  });
}

t.test('bad usage exits 2 with the reason on stderr', async (t) => {
  const unknown = await lab('frobnicate');
  t.equal(unknown.exitCode, 2);
  t.match(unknown.stderr, /unknown command "frobnicate"/);
  const option = await lab('compare', '--target', 'moon');
  t.equal(option.exitCode, 2);
  t.match(option.stderr, /^lab compare: --target must be host, qemu or vagrant, not "moon"/);
  const kernel = await lab('compare', '--target', 'vagrant', '--kernel', '6.12');
  t.equal(kernel.exitCode, 2, 'a kernel for the Vagrant VM is bad usage');
  t.match(kernel.stderr, /^lab compare: --kernel 6\.12 does not apply to --target vagrant: the Vagrant VM runs its box's own kernel .*use --target qemu --kernel 6\.12/);
  const variant = await lab('trace', 'execsnoop', '--tool', 'dtrace');
  t.equal(variant.exitCode, 2);
  t.match(variant.stderr, /no variant execsnoop\/dtrace \(variants: .*execsnoop\/libbpf/);
  for (const [args, reason] of [
    [['--storm', '0'], /^lab bench: --storm must be a whole number ≥ 1, not "0"/],
    [['--target', 'moon'], /^lab bench: --target must be host or qemu, not "moon"/],
    [['--target', 'host', '--kernel', '6.1'], /^lab bench: --kernel 6\.1 needs a VM target/],
    [['--variant', 'execsnoop/dtrace'], /^lab bench: no variant execsnoop\/dtrace \(variants: /],
  ] as const) {
    const r = await lab('bench', ...args);
    t.equal(r.exitCode, 2, args.join(' '));
    t.match(r.stderr, reason);
  }
});

t.test('./lab notebook: bad options exit 2 before anything starts; --help prints its usage', async (t) => {
  const port = await lab('notebook', '--port', 'nope');
  t.equal(port.exitCode, 2);
  t.match(port.stderr, /^lab notebook: --port must be a TCP port \(1-65535\), not "nope"/);
  const kernel = await lab('notebook', '--kernel', '2.6');
  t.equal(kernel.exitCode, 2);
  t.match(kernel.stderr, /unknown kernel "2\.6"/);
  const help = await lab('notebook', '--help');
  t.equal(help.exitCode, 0);
  t.match(help.stdout, /^usage: \.\/lab notebook \[--kernel K\] \[--port P\]/);
});

t.test('--help after -- belongs to the command run in the VM, not to ./lab', async (t) => {
  // `vm run` without --kernel is bad usage: proof that --help after -- was not taken as ours
  const r = await lab('vm', 'run', '--', 'ls', '--help');
  t.equal(r.exitCode, 2);
  t.match(r.stderr, /--kernel/);
});

t.test('./lab grade: bad usage exits 2 with the reason', async (t) => {
  const none = await lab('grade');
  t.equal(none.exitCode, 2);
  t.match(none.stderr, /grade: expected LAB and DIR/);
  const unknown = await lab('grade', 'no-such-lab', '/tmp');
  t.equal(unknown.exitCode, 2);
  t.match(unknown.stderr, /no lab "no-such-lab"/);
  const dir = await lab('grade', '1', '/nonexistent-dir');
  t.equal(dir.exitCode, 2);
  t.match(dir.stderr, /\/nonexistent-dir is not a directory/);
  const jobs = await lab('grade', '1', '/tmp', '--jobs', '0');
  t.equal(jobs.exitCode, 2);
  t.match(jobs.stderr, /--jobs must be a positive integer/);
});

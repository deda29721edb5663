import t from 'tap';
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { MAP_SHARED, overrideSyscalls, PAGE_SIZE, PROT_READ, PROT_WRITE, sys } from '../../../bpf/ts/syscall.js';
import { E } from '../../lib/fake-syscalls.js';

t.test('a replacement takes over the calls it gives and the rest still reach libc', async (t) => {
  const calls: number[] = [];
  const restore = overrideSyscalls({ bpf: (cmd) => (calls.push(cmd), -E.EPERM) });
  try {
    t.equal(sys().bpf(0, Buffer.alloc(8), 8), -E.EPERM);
    t.same(calls, [0]);
    t.equal(sys().close(-1), -E.EBADF, 'close(-1) went to libc and came back as -EBADF');
  } finally {
    restore();
  }
  // restored: a command no kernel has goes to the real bpf() (EINVAL as root, EPERM otherwise), not to the fake
  const real = sys().bpf(9999, Buffer.alloc(8), 8);
  t.ok(real === -E.EINVAL || real === -E.EPERM, `the real bpf() answered ${real}`);
  t.equal(calls.length, 1, 'the replacement saw nothing more');
});

t.test('replacements nest and restore in order', async (t) => {
  const outer = overrideSyscalls({ close: () => 11 });
  const inner = overrideSyscalls({ close: () => 22 });
  t.equal(sys().close(3), 22);
  inner();
  t.equal(sys().close(3), 11);
  outer();
  t.equal(sys().close(-1), -E.EBADF);
});

t.test('mmap gives an address whose view is the same memory, and a failure is -errno', async (t) => {
  const MAP_ANONYMOUS_PRIVATE = 0x22;
  const addr = sys().mmap(2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_ANONYMOUS_PRIVATE, -1, 0);
  t.ok(addr > 0n);
  const a = sys().view(addr, 2 * PAGE_SIZE);
  const b = sys().view(addr, 2 * PAGE_SIZE);
  a.writeUInt32LE(0xdeadbeef, PAGE_SIZE);
  t.equal(b.readUInt32LE(PAGE_SIZE), 0xdeadbeef);
  t.equal(sys().munmap(addr, 2 * PAGE_SIZE), 0);
  t.equal(sys().mmap(PAGE_SIZE, PROT_READ, MAP_SHARED, 1_000_000, 0), -BigInt(E.EBADF));
});

t.test('address() points at the Buffer the kernel will read', async (t) => {
  const buf = Buffer.from('abc');
  t.equal(sys().address(buf), sys().address(buf), 'stable');
  t.ok(sys().address(buf) > 0n);
});

t.test('watch() calls back when the fd turns readable, and not after close', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'watch-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'fifo');
  const mk = await execa('mkfifo', [fifo], { reject: false, timeout: 5000 });
  if (mk.exitCode !== 0) return t.plan(0, 'mkfifo is missing: install coreutils');
  const fd = openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  t.teardown(() => closeSync(fd));
  let calls = 0;
  const readable = new Promise<void>((resolve) => {
    const watch = sys().watch(fd, () => {
      calls++;
      watch.close();
      resolve();
    });
  });
  writeSync(fd, 'x');
  await readable;
  await new Promise((r) => setTimeout(r, 20));
  t.equal(calls, 1);
});

// One bpf() command: encode the attribute, make the call, turn -errno into a BpfError. Everything in the
// layer that talks to bpf() goes through here, so the attribute sizes and the error shape stay uniform.

import { Cmd, encodeAttr, layoutEnd, ObjInfoAttr, readU32, type Attr, type AttrValue, type Layout } from './attr.js';
import { check, type ErrorSubject, type Operation } from './errors.js';
import { sys } from './syscall.js';

export interface CommandResult {
  /** The syscall's result: an fd for the commands that create something, 0 for the rest. */
  ret: number;
  /** The attribute as the kernel left it (it writes results back into some fields). */
  attr: Attr;
}

/** Run bpf(cmd, attr) and return the result; throw a BpfError for -errno. */
export function bpfCommand<F extends string>(
  cmd: number,
  l: Layout<F>,
  values: Partial<Record<F, AttrValue>>,
  op: Operation,
  where?: ErrorSubject,
): CommandResult {
  const attr = encodeAttr(l, values);
  const ret = check(op, sys().bpf(cmd, attr, attr.length), where);
  return { ret, attr };
}

/** Like bpfCommand, but hand back -errno instead of throwing (for callers that retry or expect ENOENT). */
export function bpfCommandRaw<F extends string>(cmd: number, l: Layout<F>, values: Partial<Record<F, AttrValue>>): CommandResult {
  const attr = encodeAttr(l, values);
  return { ret: sys().bpf(cmd, attr, attr.length), attr };
}

/**
 * BPF_OBJ_GET_INFO_BY_FD: offer a buffer as long as the fields this layer reads; the kernel fills what it
 * knows and says how much in info_len (less on an older kernel), so a missing field reads as absent.
 */
export function objectInfo(fd: number, info: Layout, where: ErrorSubject, extra?: (buf: Buffer) => void): { buf: Buffer; length: number } {
  const buf = Buffer.alloc(layoutEnd(info));
  extra?.(buf);
  const { attr } = bpfCommand(Cmd.obj_get_info_by_fd, ObjInfoAttr, { bpf_fd: fd, info_len: buf.length, info: buf }, 'obj_info', where);
  return { buf, length: readU32(ObjInfoAttr, attr, 'info_len') };
}

let memlockRaised = false;

/**
 * Kernels before 5.11 charge maps and programs to RLIMIT_MEMLOCK (64 KiB by default on some systems);
 * raise it once, as libbpf does. Newer kernels account through memcg and a failure here (no
 * CAP_SYS_RESOURCE) changes nothing, so the result is ignored.
 */
export function raiseMemlockOnce(): void {
  if (memlockRaised) return;
  memlockRaised = true;
  sys().raiseMemlockLimit();
}

/** The kernel's rule for object names: at most 15 characters of [A-Za-z0-9_.]. */
export function checkObjectName(name: string): string | undefined {
  if (name.length > 15) return `"${name}" has ${name.length} characters; the kernel keeps at most 15`;
  if (!/^[A-Za-z0-9_.]*$/.test(name)) return `"${name}" may hold only letters, digits, _ and .`;
  return undefined;
}

// How opensnoop prints an open, the same rule in opensnoop.c, opensnoop_bcc.py and opensnoop.ts: one row
//
//   PID     TID     COMM             SYSCALL FLAGS    MODE   RET PATH
//   4242    4243    open_helper      openat2 00100101 0640     3 /tmp/x
//
// pid and tid left-aligned in 7, comm left-aligned in 16, the door (open, openat, openat2) in 7, flags as 8 octal
// digits, mode as 4, the return value (the new fd, or -errno) right-aligned in 5, then the path as the rest of
// the line. The path is written so that the line stays one line of ASCII whatever its bytes: a byte from
// 0x20 to 0x7e is itself, except the backslash, written \\; every other byte (a newline, bytes that are not
// ASCII) is \xHH. A path longer than PATH_CAP bytes shows its first PATH_CAP, then "...".

import { CUT_MARK, PATH_CAP } from './limits.js';

export type OpenSyscall = 'open' | 'openat' | 'openat2';

/** The path's bytes as a row shows them (without the cut mark). */
export function escapePath(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b <= 0x7e) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The bytes an escaped path stands for: escapePath's inverse. */
export function unescapePath(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === '\\') {
      out.push(0x5c);
      i++;
    } else if (text[i] === '\\' && text[i + 1] === 'x' && /^[0-9a-f]{2}$/i.test(text.slice(i + 2, i + 4))) {
      out.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else out.push(text.charCodeAt(i));
  }
  return Buffer.from(out);
}

/** A path as shown: escaped, cut to PATH_CAP bytes and marked when longer. */
export const shownPath = (bytes: Uint8Array, cap = PATH_CAP): string =>
  bytes.length > cap ? escapePath(bytes.subarray(0, cap)) + CUT_MARK : escapePath(bytes);

export interface OpenRow {
  pid: number;
  tid: number;
  comm: string;
  syscall: OpenSyscall;
  flags: number;
  mode: number;
  ret: number;
  /** As shown: escaped, and cut. */
  path: string;
}

const oct = (n: number, width: number) => n.toString(8).padStart(width, '0');

export const formatRow = (r: OpenRow): string =>
  `${String(r.pid).padEnd(7)} ${String(r.tid).padEnd(7)} ${r.comm.padEnd(16)} ${r.syscall.padEnd(7)} ${oct(r.flags, 8)} ${oct(r.mode, 4)} ${String(r.ret).padStart(5)} ${r.path}`;

const ROW = /^(\d+) +(\d+) +(.{16}) (open|openat|openat2) +([0-7]+) ([0-7]+) +(-?\d+) (.*)$/;

/** One row back into its fields, or undefined for a line that is not a row. */
export function parseRow(line: string): OpenRow | undefined {
  const m = ROW.exec(line);
  if (!m) return undefined;
  return {
    pid: Number(m[1]), tid: Number(m[2]), comm: m[3]!.trimEnd(), syscall: m[4] as OpenSyscall,
    flags: parseInt(m[5]!, 8), mode: parseInt(m[6]!, 8), ret: Number(m[7]), path: m[8]!,
  };
}

// How execsnoop prints arguments, the same rule as execsnoop.c: each argument as a shell would need it
// typed — bare when it is made of safe characters, else in single quotes (an embedded ' as '\''), or as
// $'…' with backslash escapes when it holds a control character. A cut argument keeps its "..." inside
// the quotes. An argument the tracer could not read is the bare word <unreadable>, which no real argument
// can print as (a real "<unreadable>" is quoted). An argument's bytes that are not UTF-8 are written as \xHH
// inside $'…' (formatArgBytes): the line stays UTF-8 text, and a reader gets the bytes back exactly.

import { CUT_MARK, UNREADABLE_MARK } from './limits.js';

const PLAIN = /^[A-Za-z0-9@%+=:,./_-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

const ESCAPES: Record<string, string> = { '\n': '\\n', '\t': '\\t', '\r': '\\r', '\\': '\\\\', "'": "\\'" };

export function quoteArg(arg: string): string {
  const cut = arg.endsWith(CUT_MARK) ? CUT_MARK : '';
  const text = cut ? arg.slice(0, -3) : arg;
  if (PLAIN.test(text)) return text + cut;
  if (CONTROL.test(text)) {
    const body = [...text]
      .map((c) => ESCAPES[c] ?? (CONTROL.test(c) ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c))
      .join('');
    return `$'${body}${cut}'`;
  }
  return `'${text.replaceAll("'", "'\\''")}${cut}'`;
}


/** The arguments as one line; `unreadable` lists the indices to show as the mark. */
export const formatArgs = (args: string[], unreadable: readonly number[] = []): string =>
  args.map((a, i) => (unreadable.includes(i) ? UNREADABLE_MARK : quoteArg(a))).join(' ');

/** The length of the valid UTF-8 sequence starting at bytes[at], or 0 (a stray, overlong or surrogate byte). */
export function utf8SequenceAt(bytes: Uint8Array, at: number): number {
  const b = bytes[at]!;
  const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
  if (at + n > bytes.length) return 0;
  for (let i = 1; i < n; i++) if ((bytes[at + i]! & 0xc0) !== 0x80) return 0;
  const c = bytes[at + 1]!;
  if ((b === 0xe0 && c < 0xa0) || (b === 0xed && c >= 0xa0) || (b === 0xf0 && c < 0x90) || (b === 0xf4 && c >= 0x90)) return 0;
  return n;
}

/** Whether every byte is part of valid UTF-8. */
export function isUtf8(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; ) {
    const n = utf8SequenceAt(bytes, i);
    if (n === 0) return false;
    i += n;
  }
  return true;
}

/** quoteArg for an argument's bytes: those that are not UTF-8 as \xHH inside $'…', as execsnoop.c prints them. */
export function quoteArgBytes(arg: Uint8Array): string {
  const buf = Buffer.from(arg);
  if (isUtf8(buf)) return quoteArg(buf.toString('utf8'));
  const cut = buf.subarray(-3).toString('latin1') === CUT_MARK;
  const body = cut ? buf.subarray(0, -3) : buf;
  let out = '';
  for (let i = 0; i < body.length; ) {
    const n = utf8SequenceAt(body, i);
    if (n === 0) {
      out += `\\x${body[i]!.toString(16).padStart(2, '0')}`;
      i++;
      continue;
    }
    const c = body.subarray(i, i + n).toString('utf8');
    out += ESCAPES[c] ?? (CONTROL.test(c) ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c);
    i += n;
  }
  return `$'${out}${cut ? CUT_MARK : ''}'`;
}

/** formatArgs for arguments as bytes. */
export const formatArgBytes = (args: readonly Uint8Array[], unreadable: readonly number[] = []): string =>
  args.map((a, i) => (unreadable.includes(i) ? UNREADABLE_MARK : quoteArgBytes(a))).join(' ');

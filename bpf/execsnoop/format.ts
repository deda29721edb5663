// How execsnoop prints arguments, the same rule as execsnoop.c: each argument as a shell would need it
// typed — bare when it is made of safe characters, else in single quotes (an embedded ' as '\''), or as
// $'…' with backslash escapes when it holds a control character. A cut argument keeps its "..." inside
// the quotes. An argument the tracer could not read is the bare word <unreadable>, which no real argument
// can print as (a real "<unreadable>" is quoted).

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

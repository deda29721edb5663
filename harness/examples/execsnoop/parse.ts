// Native output of every execsnoop variant → the normalized ExecEvent. One stateful parser per
// ExecsnoopParserName (variants.ts): feed it stdout line by line, then end(). Each format and its quirks
// are documented in the tool's source (bpf/execsnoop/) or, for upstream tools, in the reference variants'
// `why` sentences (variants.ts).

import { ARGSIZE, CUT_MARK, MAX_ARGS, UNREADABLE_MARK } from '../../../bpf/execsnoop/limits.js';
import type { OutputReader } from '../../example.js';
import type { ExecsnoopParserName } from './variants.js';

export { ARGSIZE, CUT_MARK, MAX_ARGS };
/** How an argument the tool could not read is shown in a normalized event. */
export const UNREADABLE = UNREADABLE_MARK;

/** One exec as any tool reports it, after its native output is parsed and normalized. */
export interface ExecEvent {
  /** Process id (tgid) — or the thread id, for a tool that reports the task's tid. */
  pid: number;
  /** Parent's tgid, when the tool reports it. */
  ppid?: number;
  /** The task's comm (≤ 15 characters): the old program's name at enter, the new one's at exit. */
  comm: string;
  /** The syscall's return value (0 or -errno), when the tool reports it. */
  ret?: number;
  /**
   * argv as the tool shows it: possibly capped in count and length (a capped argument ends in "..."); an
   * argument the tool could not read is UNREADABLE, never an empty string.
   */
  args: string[];
  /** The tool said it dropped arguments or cut one short. */
  truncated: boolean;
  /** The tool said it could not read an argument (shown as UNREADABLE in args). */
  unreadable: boolean;
}

export type ExecsnoopParser = OutputReader<ExecEvent>;

const byteLength = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Splits `text` after its first `bytes` UTF-8 bytes: printf's "%-16s" pads bytes, not characters. */
function splitAtByte(text: string, bytes: number): [string, string] {
  const buffer = Buffer.from(text, 'utf8');
  return [buffer.subarray(0, bytes).toString('utf8'), buffer.subarray(bytes).toString('utf8')];
}

/** An argument's first ARGSIZE-1 bytes and the cut mark. */
const cutArgument = (arg: string): string => splitAtByte(arg, ARGSIZE - 1)[0] + CUT_MARK;

/**
 * The "PCOMM PID PPID RET ARGS" rows of our tools and of both upstream execsnoops:
 * comm is "%-16s", then one space; the numeric columns are space-padded. Returns null for
 * any other line (headers, warnings, a continuation of the previous row).
 */
function parseRow(text: string): { comm: string; pid: number; ppid?: number; ret: number; rest: string } | null {
  if (byteLength(text) < 17) return null;
  const [commField, after] = splitAtByte(text, 16);
  const match = /^ (\d+) +(\d+|\?) +(-?\d+) ?(.*)$/s.exec(after);
  if (!match) return null;
  return {
    comm: commField.trimEnd(),
    pid: Number(match[1]),
    ppid: match[2] === '?' ? undefined : Number(match[2]),
    ret: Number(match[3]),
    rest: match[4],
  };
}

interface ShellToken {
  value: string;
  /** Any part of it was quoted or escaped: a quoted "..." is an argument, not the cut mark. */
  quoted: boolean;
}

const ANSI_C_ESCAPES: Record<string, string> = {
  n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"',
};

/**
 * Splits a line of shell words: plain text, '…' (no escapes inside), $'…' (backslash escapes,
 * \xHH), and a backslash outside quotes, concatenated into words separated by spaces.
 * Hand-written: the shell-quote package expands $VAR and parses operators, and knows no $'…'.
 */
export function splitShellWords(text: string): ShellToken[] {
  const tokens: ShellToken[] = [];
  let value = '';
  let quoted = false;
  let inWord = false;
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`parse arguments: ${why} at column ${i} (in ${JSON.stringify(text)})`);
  };
  while (i < text.length) {
    const c = text[i];
    if (c === ' ') {
      if (inWord) tokens.push({ value, quoted });
      value = '';
      quoted = false;
      inWord = false;
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) fail('unterminated quote');
      value += text.slice(i + 1, close);
      quoted = true;
      i = close + 1;
    } else if (c === '$' && text[i + 1] === "'") {
      quoted = true;
      i += 2;
      while (text[i] !== "'") {
        if (i >= text.length) fail("unterminated $'");
        if (text[i] !== '\\') {
          value += text[i++];
          continue;
        }
        const escape = text[i + 1];
        if (escape === 'x') {
          const hex = /^[0-9a-fA-F]{1,2}/.exec(text.slice(i + 2))?.[0] ?? fail('bad \\x escape');
          value += String.fromCharCode(parseInt(hex, 16));
          i += 2 + hex.length;
        } else {
          value += ANSI_C_ESCAPES[escape] ?? fail(`unknown escape \\${escape}`);
          i += 2;
        }
      }
      i++;
    } else if (c === '\\' && i + 1 < text.length) {
      value += text[i + 1];
      quoted = true;
      i += 2;
    } else {
      value += c;
      i++;
    }
  }
  if (inWord) tokens.push({ value, quoted });
  return tokens;
}

/**
 * Holds the last event back until the next row or the end, because an argument holding a newline
 * is printed raw by upstream tools and continues on the following line(s). Blank lines are joined
 * only when more text follows: bpftrace ends its output with blank lines of its own.
 */
function continuationParser(
  parseLine: (text: string) => { event: ExecEvent; argsText: string } | null | 'ignore',
  finish: (event: ExecEvent, argsText: string) => ExecEvent,
): ExecsnoopParser {
  let held: { event: ExecEvent; argsText: string } | null = null;
  let blankLines = 0;
  const release = (): ExecEvent[] => {
    const out = held ? [finish(held.event, held.argsText)] : [];
    held = null;
    blankLines = 0;
    return out;
  };
  return {
    line(text) {
      const parsed = parseLine(text);
      if (parsed === 'ignore') return [];
      if (parsed) {
        const out = release();
        held = parsed;
        return out;
      }
      if (!held) return [];
      if (text === '') {
        blankLines++;
        return [];
      }
      held.argsText += '\n'.repeat(blankLines + 1) + text;
      blankLines = 0;
      return [];
    },
    end: release,
  };
}

/**
 * Our bcc / libbpf / ts execsnoop: shell-quoted arguments, cut marks, no continuation lines. A bare
 * "..." after MAX_ARGS arguments is the dropped mark and a bare <unreadable> an argument the tool could not
 * read: quoted, either is a real argument.
 */
function tableParser(): ExecsnoopParser {
  return {
    line(text) {
      const row = parseRow(text);
      if (!row) return [];
      const words = splitShellWords(row.rest);
      const last = words[words.length - 1];
      const dropped = words.length === MAX_ARGS + 1 && last.value === CUT_MARK && !last.quoted;
      if (dropped) words.pop();
      const args = words.map((word) => word.value);
      const cut = args.some((arg) => arg.endsWith(CUT_MARK) && byteLength(arg) === ARGSIZE - 1 + CUT_MARK.length);
      const unreadable = words.some((word) => word.value === UNREADABLE && !word.quoted);
      return [{ pid: row.pid, ppid: row.ppid, comm: row.comm, ret: row.ret, args, truncated: dropped || cut, unreadable }];
    },
    end: () => [],
  };
}

interface PendingExec {
  pid: number;
  comm: string;
  args: string[];
  more: boolean;
}

/** The new program's argv, printed at exit when enter showed an empty argument (argc / xarg records). */
interface NewArgv {
  argc: number;
  args: string[];
}

/**
 * The arguments enter showed, with every "" taken again from the new program's argv where that tells what
 * it was: enter's "" is an empty argument or one it could not read (str() gives "" for both). The old
 * argv[i] is the new argv[i + shift], shift being the words a script's interpreter put in front; a script's
 * argv[0] is gone, and without the whole old argv (more than 20 entries) the shift is unknown.
 */
function withNewArgv(found: PendingExec, after: NewArgv | undefined): string[] {
  const args = Array.from(found.args, (arg = '') => arg);
  if (!after || found.more) return args;
  const shift = after.argc - args.length;
  if (shift < 0) return args;
  return args.map((arg, i) => (arg !== '' || (i === 0 && shift > 0) ? arg : (after.args[i + shift] ?? arg)));
}

/** An exit read before its enter: bpftrace reads each CPU's buffer in turn, so the two can swap. */
interface EarlyExit {
  pid: number;
  ppid: number;
  ret: number;
  after?: NewArgv;
  /** When it was read, in records: only a recent one can be a swapped pair. */
  seq: number;
}

/** How many records apart an exit may be read before its enter and still be paired with it. */
const REORDER_WINDOW = 256;

/**
 * Our execsnoop.bt: enter / arg / more / argc / xarg / exit records, tab-separated, each tagged with the
 * thread id. The event is complete at exit: paired with the pending enter of the same tid, or else of the
 * same pid (an exec from a non-main thread exits with the process id as its tid). An exit with no pending
 * enter waits a little: when an exec moves to another CPU, its exit can be read first, and the enter that
 * then arrives (with its arg records right after it) completes the event.
 */
function bpftraceParser(): ExecsnoopParser {
  const pending = new Map<number, PendingExec>();
  const newArgv = new Map<number, NewArgv>();
  const early = new Map<number, EarlyExit>(); // by pid
  let waiting: { tid: number; exit: EarlyExit } | null = null; // an enter whose exit came first
  let lastArg: { args: string[]; index: number } | null = null;
  let blankLines = 0;
  let seq = 0;

  const event = (found: PendingExec, exit: { pid: number; ppid: number; ret: number }, after: NewArgv | undefined): ExecEvent => {
    const shown = withNewArgv(found, after);
    // str() shows at most BPFTRACE_STRLEN-1 = 128 bytes: all 128 means the argument was longer.
    const args = shown.map((arg) => (byteLength(arg) >= ARGSIZE ? cutArgument(arg) : arg));
    const cut = shown.some((arg) => byteLength(arg) >= ARGSIZE);
    return {
      pid: exit.pid, ppid: exit.ppid, comm: found.comm, ret: exit.ret, args,
      truncated: found.more || cut,
      unreadable: false, // bpftrace cannot tell: see withNewArgv
    };
  };
  /** The enter that waited for its args, now complete. */
  const flush = (): ExecEvent[] => {
    if (!waiting) return [];
    const { tid, exit } = waiting;
    waiting = null;
    const found = pending.get(tid);
    pending.delete(tid);
    return found ? [event(found, exit, exit.after)] : [];
  };

  return {
    line(text) {
      const fields = text.split('\t');
      const tag = fields[0];
      const tid = Number(fields[1]);
      const isRecord = ['enter', 'arg', 'more', 'argc', 'xarg', 'exit'].includes(tag) && /^\d+$/.test(fields[1] ?? '');
      if (!isRecord) {
        // A newline inside the last argument; blank lines count only when more text follows.
        if (lastArg && text === '') blankLines++;
        else if (lastArg) {
          lastArg.args[lastArg.index] += '\n'.repeat(blankLines + 1) + text;
          blankLines = 0;
        }
        return [];
      }
      seq++;
      lastArg = null;
      blankLines = 0;
      // the waiting enter's own arg and more records follow it; anything else means it is complete
      const out = waiting && !((tag === 'arg' || tag === 'more') && tid === waiting.tid) ? flush() : [];
      if (tag === 'enter') {
        const pid = Number(fields[2]);
        pending.set(tid, { pid, comm: fields.slice(3).join('\t'), args: [], more: false });
        newArgv.delete(tid);
        const exit = early.get(pid);
        if (exit && seq - exit.seq <= REORDER_WINDOW) waiting = { tid, exit };
        early.delete(pid);
        return out;
      }
      if (tag === 'argc') {
        newArgv.set(tid, { argc: Number(fields[2]), args: [] });
        return out;
      }
      const after = newArgv.get(tid);
      if (tag === 'xarg' && after) {
        const index = Number(fields[2]);
        after.args[index] = fields.slice(3).join('\t');
        lastArg = { args: after.args, index };
        return out;
      }
      const exec = pending.get(tid);
      if (tag === 'arg' && exec) {
        const index = Number(fields[2]);
        exec.args[index] = fields.slice(3).join('\t');
        lastArg = { args: exec.args, index };
        return out;
      }
      if (tag === 'more' && exec) {
        exec.more = true;
        return out;
      }
      if (tag !== 'exit') return out;
      newArgv.delete(tid);
      const exit = { pid: Number(fields[2]), ppid: Number(fields[3]), ret: Number(fields[4]) };
      let key: number | undefined = exec ? tid : undefined;
      if (key === undefined) for (const [k, p] of pending) if (p.pid === exit.pid) key = k;
      if (key === undefined) {
        // its enter may still come (read from another CPU's buffer), or never: execveat, or attached mid-exec
        early.set(exit.pid, { ...exit, after, seq });
        return out;
      }
      const found = pending.get(key)!;
      pending.delete(key);
      return [...out, event(found, exit, after)];
    },
    end: () => flush(),
  };
}

/** Reads a printf "%-Nd " column at `at`: the digits, space padding to N, then one space. */
function paddedNumber(text: string, at: number, width: number): { value: number; next: number } | null {
  const digits = /^\d+/.exec(text.slice(at))?.[0];
  if (!digits) return null;
  const next = at + Math.max(width, digits.length) + 1;
  if (text.slice(at + digits.length, next).trim() !== '') return null;
  return { value: Number(digits), next };
}

/** /usr/sbin/execsnoop.bt (bpftrace 0.17): "%-10u %-5d " then join(argv), printed at enter. */
function upstreamBpftraceParser(): ExecsnoopParser {
  return continuationParser(
    (text) => {
      const time = paddedNumber(text, 0, 10);
      const pid = time && paddedNumber(text, time.next, 5);
      if (!pid || text.length < pid.next) return text.startsWith('TIME(ms)') ? 'ignore' : null;
      return { event: { pid: pid.value, comm: '', args: [], truncated: false, unreadable: false }, argsText: text.slice(pid.next) };
    },
    (event, argsText) => ({ ...event, args: argsText === '' ? [] : argsText.split(' ') }),
  );
}

/** libbpf-tools execsnoop 0.26: "%-16s %-6d %-6d %3d " then every argument followed by a space. */
function upstreamLibbpfToolsParser(): ExecsnoopParser {
  return continuationParser(
    (text) => {
      const row = parseRow(text);
      if (!row) return null;
      const { rest, ...event } = row;
      return { event: { ...event, args: [], truncated: false, unreadable: false }, argsText: rest };
    },
    (event, argsText) => {
      // More than --max-args entries: " ..." after the last argument's own trailing space.
      const dropped = argsText.endsWith('  ...');
      const text = (dropped ? argsText.slice(0, -4) : argsText).replace(/ $/, '');
      return { ...event, args: text === '' ? [] : text.split(' '), truncated: dropped };
    },
  );
}

/** execsnoop-bpfcc's MAXARG (its default --max-args): the filename and 19 arguments. */
const UPSTREAM_BCC_MAXARG = 20;

/** execsnoop-bpfcc (BCC 0.26): "%-16s %-7d %-7s %3d %s", arguments joined by spaces, newlines as \n. */
function upstreamBccParser(): ExecsnoopParser {
  return {
    line(text) {
      const row = parseRow(text);
      if (!row) return [];
      const args = row.rest === '' ? [] : row.rest.split(' ').map((arg) => arg.replaceAll('\\n', '\n'));
      // Once it has read the filename and MAXARG-1 arguments it sends one more field meant to be "...",
      // even if no more follow; read from the BPF stack with bpf_probe_read_user, that field arrives
      // empty on 5.5+ kernels (captured on 6.1). Either way it is not an argument.
      const last = args.length > UPSTREAM_BCC_MAXARG ? args[args.length - 1] : undefined;
      const marked = last === CUT_MARK;
      if (marked || last === '') args.pop();
      return [{ pid: row.pid, ppid: row.ppid, comm: row.comm, ret: row.ret, args, truncated: marked, unreadable: false }];
    },
    end: () => [],
  };
}

const EXECSNOOP_PARSERS: Record<ExecsnoopParserName, () => ExecsnoopParser> = {
  'execsnoop-table': tableParser,
  'execsnoop-bpftrace': bpftraceParser,
  'upstream-bcc': upstreamBccParser,
  'upstream-libbpf-tools': upstreamLibbpfToolsParser,
  'upstream-bpftrace': upstreamBpftraceParser,
};

export function createParser(name: ExecsnoopParserName): ExecsnoopParser {
  const make = EXECSNOOP_PARSERS[name as ExecsnoopParserName];
  if (!make) throw new Error(`create parser: no execsnoop parser named ${JSON.stringify(name)}`);
  return make();
}

/** Every event in a whole captured stdout. */
export function parseExecsnoop(name: ExecsnoopParserName, stdout: string): ExecEvent[] {
  const parser = createParser(name);
  const lines = stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return [...lines.flatMap((text) => parser.line(text)), ...parser.end()];
}


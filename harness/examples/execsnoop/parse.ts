// Native output of every execsnoop variant → the normalized ExecEvent. One stateful parser per
// ExecsnoopParserName (variants.ts): feed it stdout line by line, then end(). Each format and its quirks
// are documented in the tool's source (bpf/execsnoop/) or, for upstream tools, in the reference variants'
// `why` sentences (variants.ts).

import { isUtf8, utf8SequenceAt } from '../../../bpf/execsnoop/format.js';
import { ARGSIZE, CUT_MARK, MAX_ARGS, UNREADABLE_MARK } from '../../../bpf/execsnoop/limits.js';
import type { OutputReader } from '../../engine/example.js';
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
  /**
   * An argument held bytes that are not UTF-8, so every argument of this event is written escaped: each such
   * byte as \xHH (two lowercase hex digits), each backslash as \\, everything else as it is. Without the mark
   * an argument is its bytes read as UTF-8, a backslash is a backslash. See escapeArgs.
   */
  escaped: boolean;
  /**
   * Which door the exec came through, for a tool that says: execve, execveat, or unknown — an exec no syscall
   * tracepoint saw start (the 32-bit entry: the kernel gives nothing to tell it apart at sched_process_exec).
   * Absent for a tool that does not say.
   */
  syscall?: 'execve' | 'execveat' | 'execve-32' | 'unknown';
  /** execveat with AT_EMPTY_PATH (an exec by fd): the name the kernel gives the program, /dev/fd/N. */
  filename?: string;
}

/** One argument's bytes in the escaped form: \xHH for a byte that is not UTF-8, \\ for a backslash. */
export function escapeBytes(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const len = utf8SequenceAt(bytes, i);
    if (len === 0) {
      out += `\\x${bytes[i]!.toString(16).padStart(2, '0')}`;
      i++;
      continue;
    }
    const text = Buffer.from(bytes.subarray(i, i + len)).toString('utf8');
    out += text === '\\' ? '\\\\' : text;
    i += len;
  }
  return out;
}

/** An argument in the escaped form back to its bytes (\\ a backslash, \xHH a byte): what escapeBytes wrote. */
export function unescapeArg(text: string): Uint8Array {
  const out: Buffer[] = [];
  let at = 0;
  for (const m of text.matchAll(/\\(\\|x([0-9a-f]{2}))/g)) {
    out.push(Buffer.from(text.slice(at, m.index), 'utf8'), m[2] ? Buffer.from([parseInt(m[2], 16)]) : Buffer.from('\\'));
    at = m.index! + m[0].length;
  }
  out.push(Buffer.from(text.slice(at), 'utf8'));
  return Buffer.concat(out);
}

/**
 * An event's arguments, as bytes, in the normalized form: all UTF-8 → the text, unmarked; any byte that is not
 * → every argument escaped (escapeBytes) and marked, so a reader decodes either kind without guessing.
 */
export function escapeArgs(args: readonly Uint8Array[]): { args: string[]; escaped: boolean } {
  const valid = args.every(isUtf8);
  return valid ? { args: args.map((a) => Buffer.from(a).toString('utf8')), escaped: false } : { args: args.map(escapeBytes), escaped: true };
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
  /** The word's bytes: $'…' can hold \xHH bytes that are not UTF-8, which value shows as U+FFFD. */
  bytes: Buffer;
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
  let bytes: Buffer[] = []; // value's bytes, each \xHH one byte
  let quoted = false;
  let inWord = false;
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`parse arguments: ${why} at column ${i} (in ${JSON.stringify(text)})`);
  };
  const push = () => {
    const all = Buffer.concat([...bytes, Buffer.from(value, 'utf8')]);
    tokens.push({ value: all.toString('utf8'), bytes: all, quoted });
  };
  const byte = (b: number) => {
    bytes.push(Buffer.from(value, 'utf8'), Buffer.from([b]));
    value = '';
  };
  while (i < text.length) {
    const c = text[i];
    if (c === ' ') {
      if (inWord) push();
      bytes = [];
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
          byte(parseInt(hex, 16));
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
  if (inWord) push();
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
function tableParser(withSyscall = false): ExecsnoopParser {
  return {
    line(text) {
      const row = parseRow(text);
      if (!row) return [];
      let rest = row.rest;
      let door: Pick<ExecEvent, 'syscall' | 'filename'> = {};
      if (withSyscall) {
        const m = /^(\S+) ?(.*)$/s.exec(rest);
        if (!m) return [];
        door = syscallColumn(m[1]!);
        rest = m[2]!;
      }
      const words = splitShellWords(rest);
      const last = words[words.length - 1];
      const dropped = words.length === MAX_ARGS + 1 && last.value === CUT_MARK && !last.quoted;
      if (dropped) words.pop();
      const { args, escaped } = escapeArgs(words.map((word) => word.bytes));
      const cut = words.some((w) => w.value.endsWith(CUT_MARK) && w.bytes.length === ARGSIZE - 1 + CUT_MARK.length);
      const unreadable = words.some((word) => word.value === UNREADABLE && !word.quoted);
      return [{ pid: row.pid, ppid: row.ppid, comm: row.comm, ret: row.ret, args, truncated: dropped || cut, unreadable, escaped, ...door }];
    },
    end: () => [],
  };
}

/**
 * The SYSCALL column of our libbpf execsnoop: execve, execveat, execveat:/dev/fd/N (AT_EMPTY_PATH, with the
 * name the kernel gave the program), or ? (an exec no syscall tracepoint saw start: the 32-bit entry).
 */
export function syscallColumn(text: string): Pick<ExecEvent, 'syscall' | 'filename'> {
  if (text === 'execve' || text === 'execveat') return { syscall: text };
  if (text.startsWith('execveat:')) return { syscall: 'execveat', filename: text.slice('execveat:'.length) };
  return { syscall: 'unknown' };
}

interface PendingExec {
  pid: number;
  comm: string;
  args: string[];
  more: boolean;
  /** execveat's flags (its flags record): the door, and AT_EMPTY_PATH */
  flags?: number;
}

/** include/uapi/linux/fcntl.h: an exec by fd. */
const AT_EMPTY_PATH = 0x1000;

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

/** An exit (or exec) read before its enter: bpftrace reads each CPU's buffer in turn, so the two can swap. */
interface EarlyExit {
  pid: number;
  ppid: number;
  ret: number;
  /** the exec record's: the name the kernel gave the program */
  filename?: string;
  after?: NewArgv;
  /** When it was read, in records: only a recent exit can be a swapped pair. */
  seq: number;
  /**
   * An exec record: our script prints one only for an exec whose enter it saw, so its enter is in another CPU's
   * buffer however far behind (4 MiB buffers, 40 processes exec'ing at once: thousands of records apart).
   */
  enterCertain?: boolean;
}

/** How many records apart an exit (not an exec) may be read before its enter and still be paired with it. */
const REORDER_WINDOW = 256;

/**
 * Our execsnoop.bt: enter / arg / more / flags / argc / xarg / exec / lone / exit records, tab-separated, each
 * tagged with the thread id. The event is complete at exec (a success) or exit (a failure; the course's
 * script, which labs 3 reads too, prints exit for every exec): paired with the pending enter of the same tid,
 * or else of the same pid (an exec from a non-main thread completes with the process id as its tid). One with
 * no pending enter waits a little: when an exec moves to another CPU (exec balances itself onto the idlest),
 * its exec or exit can be read first, and the enter that then arrives (with its arg records right after it)
 * completes the event. A lone record is an exec no enter saw (the 32-bit entry), complete by itself.
 */
function bpftraceParser(): ExecsnoopParser {
  const pending = new Map<number, PendingExec>();
  const newArgv = new Map<number, NewArgv>();
  const early = new Map<number, EarlyExit[]>(); // by pid, oldest first (env then true: two execs of one pid)
  let waiting: { tid: number; exit: EarlyExit } | null = null; // an enter whose exit came first
  let lastArg: { args: string[]; index: number } | null = null;
  let blankLines = 0;
  let seq = 0;

  const flagsFirst = new Map<number, number>(); // a flags record read before its enter, by tid
  const event = (found: PendingExec, exit: { pid: number; ppid: number; ret: number; filename?: string }, after: NewArgv | undefined): ExecEvent => {
    const shown = withNewArgv(found, after);
    // str() shows at most BPFTRACE_STRLEN-1 = 128 bytes: all 128 means the argument was longer.
    const args = shown.map((arg) => (byteLength(arg) >= ARGSIZE ? cutArgument(arg) : arg));
    const cut = shown.some((arg) => byteLength(arg) >= ARGSIZE);
    const byFd = found.flags !== undefined && (found.flags & AT_EMPTY_PATH) !== 0 && exit.filename !== undefined;
    return {
      pid: exit.pid, ppid: exit.ppid, comm: found.comm, ret: exit.ret, args,
      truncated: found.more || cut,
      unreadable: false, // bpftrace cannot tell: see withNewArgv
      escaped: false, // it prints raw bytes, which reach us as text already (see variants.ts)
      syscall: found.flags === undefined ? 'execve' : 'execveat',
      ...(byFd ? { filename: exit.filename } : {}),
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
      const isRecord = ['enter', 'arg', 'more', 'flags', 'argc', 'xarg', 'exec', 'lone', 'exit'].includes(tag) && /^\d+$/.test(fields[1] ?? '');
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
      const out = waiting && !((tag === 'arg' || tag === 'more' || tag === 'flags') && tid === waiting.tid) ? flush() : [];
      if (tag === 'enter') {
        const pid = Number(fields[2]);
        const flags = flagsFirst.get(tid);
        flagsFirst.delete(tid);
        pending.set(tid, { pid, comm: fields.slice(3).join('\t'), args: [], more: false, ...(flags === undefined ? {} : { flags }) });
        newArgv.delete(tid);
        const queue = (early.get(pid) ?? []).filter((e) => e.enterCertain || seq - e.seq <= REORDER_WINDOW);
        const exit = queue.shift();
        if (exit) waiting = { tid, exit };
        if (queue.length > 0) early.set(pid, queue);
        else early.delete(pid);
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
      if (tag === 'flags') {
        if (exec) exec.flags = Number(fields[2]);
        else flagsFirst.set(tid, Number(fields[2]));
        return out;
      }
      if (tag === 'lone') {
        // no enter: the arguments are the new program's (argc / xarg just before), comm the new program's
        newArgv.delete(tid);
        const argv = after ? Array.from({ length: Math.min(after.argc, MAX_ARGS) }, (_, i) => after.args[i] ?? '') : [];
        const alone: PendingExec = { pid: Number(fields[2]), comm: fields.slice(4).join('\t'), args: argv, more: (after?.argc ?? 0) > MAX_ARGS };
        return [...out, { ...event(alone, { pid: alone.pid, ppid: Number(fields[3]), ret: 0 }, undefined), syscall: 'unknown' }];
      }
      if (tag !== 'exit' && tag !== 'exec') return out;
      newArgv.delete(tid);
      const exit =
        tag === 'exec'
          ? { pid: Number(fields[2]), ppid: Number(fields[3]), ret: 0, filename: fields.slice(4).join('\t') }
          : { pid: Number(fields[2]), ppid: Number(fields[3]), ret: Number(fields[4]) };
      let key: number | undefined = exec ? tid : undefined;
      if (key === undefined) for (const [k, p] of pending) if (p.pid === exit.pid) key = k;
      if (key === undefined) {
        // its enter may still come (read from another CPU's buffer), or never: execveat, or attached mid-exec
        early.set(exit.pid, [...(early.get(exit.pid) ?? []), { ...exit, after, seq, ...(tag === 'exec' ? { enterCertain: true } : {}) }]);
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
      return { event: { pid: pid.value, comm: '', args: [], truncated: false, unreadable: false, escaped: false }, argsText: text.slice(pid.next) };
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
      return { event: { ...event, args: [], truncated: false, unreadable: false, escaped: false }, argsText: rest };
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
      return [{ pid: row.pid, ppid: row.ppid, comm: row.comm, ret: row.ret, args, truncated: marked, unreadable: false, escaped: false }];
    },
    end: () => [],
  };
}

const EXECSNOOP_PARSERS: Record<ExecsnoopParserName, () => ExecsnoopParser> = {
  'execsnoop-table': () => tableParser(false),
  'execsnoop-table-syscall': () => tableParser(true),
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


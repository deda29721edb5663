// Reads the output of upstream's three opensnoops, as Debian 12 ships them (the reference variants), into
// OpenEvents. All three print one row per open, in printf columns:
//
//   opensnoop.bt (bpftrace 0.17)          "%-6d %-16s %4d %3d %s"           PID COMM FD ERR PATH
//   opensnoop-bpfcc -e (BCC 0.26)         "%-6d %-16s %4d %3d " "%08o " PATH  PID COMM FD ERR FLAGS PATH
//   opensnoop -e (libbpf-tools 0.26)      "%-6d %-16s %3d %3d " "%08o " PATH  PID COMM FD ERR FLAGS PATH
//
// FD is the new fd, or -1 with ERR the errno: ret = FD, or -ERR. PID is the process (tgid); none prints the
// thread, the door or the mode. comm is at most 15 bytes, so its column is always 16 bytes and a space: it
// may hold spaces. The path is the rest of the line, its bytes printed raw: a newline inside it goes on to
// the next line(s), so each event is held back until the next row begins or the tool exits, and a line that
// is not a row is the held path's continuation. Bytes that are not UTF-8 reach us as U+FFFD (the session reads
// lines as UTF-8), in the path and in comm alike.

import type { OutputReader } from '../../engine/example.js';
import type { OpenEvent } from './events.js';

export type UpstreamOpensnoopName = 'upstream-bpftrace' | 'upstream-bcc' | 'upstream-libbpf-tools';

/**
 * Each tool's header, as it prints it with the command line the reference variants use (bpftrace's script
 * takes no option; BCC and libbpf-tools run with -e, which adds FLAGS). The tools print it once attached.
 */
export const UPSTREAM_HEADERS: Record<UpstreamOpensnoopName, string> = {
  'upstream-bpftrace': 'PID    COMM               FD ERR PATH',
  'upstream-bcc': 'PID    COMM               FD ERR FLAGS    PATH',
  'upstream-libbpf-tools': 'PID    COMM              FD ERR FLAGS    PATH',
};

interface Layout {
  /** The tool, for error messages. */
  tool: string;
  /** printf width of the FD column: "%4d" in bpftrace's script and BCC, "%3d" in libbpf-tools. */
  fdWidth: number;
  /** The "%08o " FLAGS column (BCC's and libbpf-tools' -e). */
  flags: boolean;
  header: RegExp;
  /**
   * Lines of the tool's own that are neither a row nor a path's continuation. bpftrace writes its "Lost N
   * events" on stdout; BCC's and libbpf-tools' lost-event lines and libbpf's warnings go to stderr, and are
   * here in case a runner merges the two.
   */
  noise: RegExp[];
  /**
   * Blank lines the tool ends its output with: bpftrace prints two at exit and one per map of the script
   * (opensnoop.bt has one, @filename, cleared by END). More than these at the end belong to the last path.
   */
  trailingBlankLines: number;
}

const LAYOUTS: Record<UpstreamOpensnoopName, Layout> = {
  'upstream-bpftrace': {
    tool: 'opensnoop.bt',
    fdWidth: 4,
    flags: false,
    header: /^PID +COMM +FD +ERR +PATH$/,
    noise: [/^Attaching \d+ probes?\.\.\.$/, /^Tracing open syscalls\.\.\. Hit Ctrl-C to end\.$/, /^Lost \d+ events$/],
    trailingBlankLines: 3,
  },
  'upstream-bcc': {
    tool: 'opensnoop-bpfcc',
    fdWidth: 4,
    flags: true,
    header: /^PID +COMM +FD +ERR +FLAGS +PATH$/,
    noise: [/^Possibly lost \d+ samples$/],
    trailingBlankLines: 0,
  },
  'upstream-libbpf-tools': {
    tool: "libbpf-tools' opensnoop",
    fdWidth: 3,
    flags: true,
    header: /^PID +COMM +FD +ERR +FLAGS +PATH$/,
    noise: [/^Lost \d+ events on CPU #\d+!$/, /^libbpf: /],
    trailingBlankLines: 0,
  },
};

/** "%-6d " and "%-16s ": the widths of the PID and COMM columns, each followed by one space. */
const PID_WIDTH = 6;
const COMM_WIDTH = 16;

/** A left-aligned "%-Nd " column at `at`: its digits, then spaces up to N, then one space. */
function leftNumber(text: string, at: number, width: number): { value: number; next: number } | null {
  const digits = /^\d+/.exec(text.slice(at))?.[0];
  if (!digits) return null;
  const next = at + Math.max(width, digits.length) + 1;
  if (text.length < next || !/^ *$/.test(text.slice(at + digits.length, next))) return null;
  return { value: Number(digits), next };
}

/** Whether " *(-?\d+)" is a right-aligned "%Nd": padded to exactly N, or wider without padding. */
const rightAligned = (pad: string, digits: string, width: number): boolean =>
  pad === '' ? digits.length >= width : pad.length + digits.length === width;

/**
 * Where the 16 bytes of the COMM column, which start at `at`, may end (indices into `text`). A character stands for its UTF-8
 * bytes, except U+FFFD, which may stand for 1 to 3 bytes the session could not decode: with none in sight
 * there is exactly one candidate.
 */
function* commEnds(text: string, at: number): Generator<number> {
  let least = 0;
  let most = 0;
  let i = at;
  for (;;) {
    if (least <= COMM_WIDTH && COMM_WIDTH <= most) yield i;
    if (i >= text.length || least > COMM_WIDTH) return;
    const cp = text.codePointAt(i)!;
    const bytes = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    least += cp === 0xfffd ? 1 : bytes;
    most += bytes;
    i += cp > 0xffff ? 2 : 1;
  }
}

/** One row's fields, or null for a line that is not a row of this layout. */
function parseRow(text: string, layout: Layout): OpenEvent | null {
  const pid = leftNumber(text, 0, PID_WIDTH);
  if (!pid) return null;
  const tail = layout.flags ? /^( *)(-?\d+) ( *)(\d+) (-?[0-7]+) (.*)$/s : /^( *)(-?\d+) ( *)(\d+) (.*)$/s;
  for (const end of commEnds(text, pid.next)) {
    if (text[end] !== ' ') continue;
    const m = tail.exec(text.slice(end + 1));
    if (!m) continue;
    const [, fdPad, fdText, errPad, errText] = m;
    if (!rightAligned(fdPad!, fdText!, layout.fdWidth) || !rightAligned(errPad!, errText!, 3)) continue;
    const fd = Number(fdText);
    const err = Number(errText);
    // FD and ERR come from one return value: a fd and 0, or -1 and a positive errno
    if (!((fd >= 0 && err === 0) || (fd === -1 && err > 0))) continue;
    const flagsText = layout.flags ? m[5]! : undefined;
    // "%08o": at least 8 characters (C prints a negative int as its unsigned value, Python as "-" and digits)
    if (flagsText !== undefined && flagsText.length < 8) continue;
    return {
      pid: pid.value,
      comm: text.slice(pid.next, end).replace(/ +$/, ''),
      ...(flagsText === undefined ? {} : { flags: parseInt(flagsText, 8) >>> 0 }),
      ret: fd >= 0 ? fd : -err,
      path: layout.flags ? m[6]! : m[5]!,
    };
  }
  return null;
}

export interface UpstreamReaderOptions {
  /**
   * The header was read before this reader got any line: session.ts takes the line that matches a variant's
   * `ready` as the sign it is attached and does not pass it on, and for BCC and libbpf-tools the header is the
   * only line printed then. Without this, end() throws when no line looked like the header.
   */
  afterHeader?: boolean;
}

/**
 * A reader of one upstream opensnoop's stdout, line by line: the header (and bpftrace's own lines) are
 * skipped, each row becomes an OpenEvent once the next row begins (or at end()), and a line that is not a row
 * goes on with the path of the row before it. end() throws when nothing looked like the header, or when
 * lines came and none of them was a row (the tool ran with other options than the reader's layout).
 */
export function createUpstreamReader(name: UpstreamOpensnoopName, options: UpstreamReaderOptions = {}): OutputReader<OpenEvent> {
  const layout = LAYOUTS[name];
  if (!layout) throw new Error(`create reader: no upstream opensnoop named ${JSON.stringify(name)}`);
  let headerSeen = options.afterHeader === true;
  let held: OpenEvent | null = null;
  let blankLines = 0; // blank lines after the held row's last line: newlines its path ends with, or the tool's own
  let rows = 0;
  // lines that were neither a row, a continuation, the header nor the tool's own: how many, and the first
  let unread = 0;
  let firstUnread = '';
  const release = (blankKept: number): OpenEvent[] => {
    if (!held) return [];
    const out = { ...held, path: held.path + '\n'.repeat(blankKept) };
    held = null;
    blankLines = 0;
    return [out];
  };
  return {
    line(text) {
      if (layout.header.test(text)) {
        headerSeen = true;
        return [];
      }
      if (layout.noise.some((re) => re.test(text))) return [];
      const row = parseRow(text, layout);
      if (row) {
        rows++;
        const out = release(blankLines);
        held = row;
        return out;
      }
      if (!held) {
        if (text !== '' && unread++ === 0) firstUnread = text;
        return [];
      }
      if (text === '') blankLines++;
      else {
        held.path += '\n'.repeat(blankLines + 1) + text;
        blankLines = 0;
      }
      return [];
    },
    end() {
      const { tool } = layout;
      if (!headerSeen) {
        throw new Error(
          `${tool}: no header line (${JSON.stringify(UPSTREAM_HEADERS[name])}) in its output` +
            (unread ? `; first line not read: ${JSON.stringify(firstUnread)}` : '') +
            ' (when the session took the header as the ready line, create the reader with { afterHeader: true })',
        );
      }
      if (rows === 0 && unread > 0) {
        throw new Error(`${tool}: ${unread} line(s) and not one row (${JSON.stringify(UPSTREAM_HEADERS[name])}): ${JSON.stringify(firstUnread)}`);
      }
      return release(Math.max(0, blankLines - layout.trailingBlankLines));
    },
  };
}

/** Every event in a whole captured stdout (header included). */
export function parseUpstreamOpensnoop(name: UpstreamOpensnoopName, stdout: string, options?: UpstreamReaderOptions): OpenEvent[] {
  const reader = createUpstreamReader(name, options);
  const lines = stdout.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return [...lines.flatMap((text) => reader.line(text)), ...reader.end()];
}

// Tracepoints and kprobes: where the kernel describes its events (tracefs), and attaching a program to one
// through a perf event — perf_event_open, then PERF_EVENT_IOC_SET_BPF and PERF_EVENT_IOC_ENABLE.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  encodeAttr,
  PERF_EVENT_IOC_DISABLE,
  PERF_EVENT_IOC_ENABLE,
  PERF_EVENT_IOC_SET_BPF,
  PERF_FLAG_FD_CLOEXEC,
  PERF_TYPE_TRACEPOINT,
  PerfEventAttr,
  type AttrValue,
} from './attr.js';
import { BpfError, check, errno } from './errors.js';
import { FdOwner } from './lifetime.js';
import type { Program } from './prog.js';
import { sys } from './syscall.js';

/** Where tracefs lives: its own mount point first, then the one debugfs mounts automatically. */
export const TRACEFS_CANDIDATES = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

let tracefs: string | undefined;

/**
 * The tracefs root. When none is mounted (the default on some machines), mount it on /sys/kernel/tracing —
 * that needs root, and the mount stays for everyone (as `mount -t tracefs` would).
 */
export function tracefsRoot(opts: { candidates?: string[]; mount?: boolean } = {}): string {
  const candidates = opts.candidates ?? TRACEFS_CANDIDATES;
  if (!opts.candidates && tracefs && isTracefs(tracefs)) return tracefs;
  const found = candidates.find(isTracefs);
  if (found) return opts.candidates ? found : (tracefs = found);
  if (opts.mount === false) {
    throw BpfError.usage('tracepoint', 'no tracefs', `none of ${candidates.join(', ')} is mounted: mount -t tracefs tracefs ${candidates[0]}`);
  }
  const target = candidates[0]!;
  const ret = sys().mount('tracefs', target, 'tracefs');
  // EBUSY: someone else mounted it meanwhile, which is just as good.
  if (ret < 0 && ret !== -errno.EBUSY) check('mount', ret, { target: `on ${target}` });
  if (!isTracefs(target)) throw BpfError.usage('mount', 'no events', `${target} has no events/ after mounting tracefs`);
  if (!opts.candidates) tracefs = target;
  return target;
}

const isTracefs = (dir: string): boolean => existsSync(join(dir, 'events'));

export interface TracepointField {
  name: string;
  /** The C type as the format file writes it: "const char *", "__data_loc char[]", "long". */
  type: string;
  /** Offset in the context a tracepoint program receives (its r1). */
  offset: number;
  size: number;
  signed: boolean;
  /** The common_* fields every event starts with (type, flags, preempt count, pid). */
  common: boolean;
}

export interface TracepointFormat {
  category: string;
  name: string;
  id: number;
  fields: TracepointField[];
  /** The field with that name; throws a BpfError naming the fields that do exist. */
  field(name: string): TracepointField;
}

/** Parse an events/<category>/<name>/format file. */
export function parseFormat(text: string, category = '', name?: string): TracepointFormat {
  const fields: TracepointField[] = [];
  const eventName = name ?? /^name:\s*(\S+)/m.exec(text)?.[1] ?? '';
  const id = Number(/^ID:\s*(\d+)/m.exec(text)?.[1]);
  const line = /^\s*field:([^;]+);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/;
  for (const raw of text.split('\n')) {
    const m = line.exec(raw);
    if (!m) continue;
    const decl = m[1]!.trim();
    // The name is the last identifier, after an optional array suffix: "char comm[16]" → comm.
    const parts = /^(.*?)\s*\b([A-Za-z_]\w*)\s*(\[[^\]]*\])?$/.exec(decl);
    if (!parts) continue;
    const fieldName = parts[2]!;
    fields.push({
      name: fieldName,
      type: `${parts[1]!.trim()}${parts[3] ?? ''}`.trim(),
      offset: Number(m[2]),
      size: Number(m[3]),
      signed: m[4] === '1',
      common: fieldName.startsWith('common_'),
    });
  }
  return {
    category,
    name: eventName,
    id,
    fields,
    field(wanted: string) {
      const f = fields.find((x) => x.name === wanted);
      if (!f) {
        throw BpfError.usage(
          'tracepoint',
          'no such field',
          `${category}/${eventName} has no field ${wanted}; it has ${fields.filter((x) => !x.common).map((x) => x.name).join(', ')}`,
        );
      }
      return f;
    },
  };
}

function eventDir(category: string, name: string, root: string): string {
  // Names go into a path: keep them to what tracefs itself uses.
  for (const part of [category, name]) {
    if (!/^[\w.-]+$/.test(part) || part.startsWith('.')) {
      throw BpfError.usage('tracepoint', 'bad name', `"${part}" is not a tracepoint category or name`, { target: `${category}/${name}` });
    }
  }
  return join(root, 'events', category, name);
}

function readEventFile(category: string, name: string, file: string, root?: string): string {
  const dir = eventDir(category, name, root ?? tracefsRoot());
  try {
    return readFileSync(join(dir, file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw BpfError.fromErrno('tracepoint', errno[code] ?? errno.EIO!, { target: `${category}/${name}` });
  }
}

/** The tracepoint's id (what perf_event_open takes as config), from events/<category>/<name>/id. */
export function tracepointId(category: string, name: string, root?: string): number {
  return Number(readEventFile(category, name, 'id', root).trim());
}

/** The tracepoint's id and fields, from events/<category>/<name>/format. */
export function tracepointFormat(category: string, name: string, root?: string): TracepointFormat {
  return parseFormat(readEventFile(category, name, 'format', root), category, name);
}

/** A program attached to an event through a perf event fd; close() detaches it. */
export class Link extends FdOwner {
  constructor(
    fd: number,
    /** What it is attached to: "tracepoint syscalls/sys_enter_execve". */
    readonly target: string,
  ) {
    super(fd);
  }

  protected describe(): string {
    return `link to ${this.target}`;
  }

  // Disable first, so no event runs the program between here and the close.
  protected override beforeClose(fd: number): void {
    this.syscalls.ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
  }
}

/**
 * perf_event_open for a probe, then SET_BPF and ENABLE. Like libbpf: pid -1 and CPU 0 — a BPF program
 * on a tracepoint or kprobe runs for every CPU whichever CPU the event was opened on, so one fd is enough.
 */
function attachPerfEvent(prog: Program, values: Partial<Record<keyof typeof PerfEventAttr.fields, AttrValue>>, target: string): Link {
  const attr = encodeAttr(PerfEventAttr, values);
  attr.writeUInt32LE(attr.length, PerfEventAttr.fields.size.offset);
  const fd = check('perf_event_open', sys().perfEventOpen(attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC), { target });
  const link = new Link(fd, target);
  try {
    check('perf_ioctl', sys().ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog.fd), { program: prog.name, target });
    check('perf_ioctl', sys().ioctl(fd, PERF_EVENT_IOC_ENABLE, 0), { program: prog.name, target });
  } catch (err) {
    link.close();
    throw err;
  }
  return link;
}

/** Attach a tracepoint program: attachTracepoint(prog, 'syscalls', 'sys_enter_execve'). */
export function attachTracepoint(prog: Program, category: string, name: string, opts: { tracefs?: string } = {}): Link {
  const id = tracepointId(category, name, opts.tracefs);
  return attachPerfEvent(prog, { type: PERF_TYPE_TRACEPOINT, size: 0, config: id }, `tracepoint ${category}/${name}`);
}

export interface KprobePmu {
  /** The dynamic PMU type perf_event_open takes as attr.type. */
  type: number;
  /** The config bit that makes it a kretprobe. */
  retprobeBit: number;
}

/**
 * The kprobe PMU (4.17+): its type from <dir>/type and the kretprobe bit from <dir>/format/retprobe
 * ("config:0"). Absent when the kernel is built without CONFIG_KPROBES.
 */
export function kprobePmu(dir = '/sys/bus/event_source/devices/kprobe'): KprobePmu {
  let type: string;
  try {
    type = readFileSync(join(dir, 'type'), 'utf8');
  } catch {
    throw BpfError.fromErrno('kprobe', errno.ENOENT!);
  }
  let retprobeBit = 0;
  try {
    const m = /config:(\d+)/.exec(readFileSync(join(dir, 'format', 'retprobe'), 'utf8'));
    if (m) retprobeBit = Number(m[1]);
  } catch {
    // Kernels with the PMU but without the format file use bit 0.
  }
  return { type: Number(type.trim()), retprobeBit };
}

/**
 * Attach a kprobe program to a kernel function's entry (or its return, `retprobe`), through the kprobe PMU:
 * attr.type = the PMU's type, kprobe_func = the address of the function's name, probe_offset = offset.
 */
export function attachKprobe(
  prog: Program,
  fn: string,
  opts: { retprobe?: boolean; offset?: number; pmu?: KprobePmu } = {},
): Link {
  const pmu = opts.pmu ?? kprobePmu();
  const name = Buffer.from(`${fn}\0`);
  return attachPerfEvent(
    prog,
    {
      type: pmu.type,
      size: 0,
      config: opts.retprobe ? 1n << BigInt(pmu.retprobeBit) : 0,
      kprobe_func: name,
      probe_offset: opts.offset ?? 0,
    },
    `${opts.retprobe ? 'kretprobe' : 'kprobe'} ${fn}`,
  );
}

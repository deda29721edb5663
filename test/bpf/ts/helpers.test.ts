// The helper table against the installed <linux/bpf.h>, and the look-ups the builder and disassembler use.

import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { HELPERS, helperId, helperName, type HelperName } from '../../../bpf/ts/helpers.js';

const HEADER = '/usr/include/linux/bpf.h';

/**
 * The helper list of a <linux/bpf.h>, id → name. Two forms exist: up to 6.1 `__BPF_FUNC_MAPPER(FN)` with
 * `FN(name)` lines, where the id is the position; from 6.2 on `___BPF_FUNC_MAPPER(FN, ctx...)` with
 * `FN(name, id, ##ctx)` lines (and a one-line __BPF_FUNC_MAPPER defined on top of it).
 */
function headerHelpers(text: string): Map<number, string> {
  const start = /^#define ___?BPF_FUNC_MAPPER\(FN(?:, ctx\.\.\.)?\)\s*\\$/m.exec(text);
  if (!start) throw new Error(`no __BPF_FUNC_MAPPER or ___BPF_FUNC_MAPPER in ${HEADER}`);
  const body: string[] = [];
  for (const line of text.slice(start.index).split('\n').slice(1)) {
    body.push(line);
    if (!line.trimEnd().endsWith('\\')) break; // the macro ends at the first line without a continuation
  }
  const helpers = new Map<number, string>();
  for (const m of body.join('\n').matchAll(/\bFN\(\s*(\w+)\s*(?:,\s*(\d+)\s*)?(?:,[^)]*)?\)/g)) {
    helpers.set(m[2] !== undefined ? Number(m[2]) : helpers.size, m[1]);
  }
  return helpers;
}

const noHeader = !existsSync(HEADER) && `${HEADER} is missing: install linux-libc-dev (apt-get install linux-libc-dev)`;

t.test('every helper name and id in the table is the one <linux/bpf.h> gives', { skip: noHeader }, async (t) => {
  const header = headerHelpers(readFileSync(HEADER, 'utf8'));
  const last = Math.max(...header.keys());
  t.ok(header.size > 100 && header.get(1) === 'map_lookup_elem', `the header's list was found (${header.size} helpers, last id ${last})`);
  const newer: string[] = [];
  for (const [name, id] of Object.entries(HELPERS)) {
    if (id > last) newer.push(`${name}=${id}`);
    else t.equal(header.get(id), name, `${name} = ${id}`);
  }
  for (const [id, name] of header) t.equal(helperName(id), name, `the table knows ${name} (${id})`);
  // The list is frozen upstream at 211; only helpers newer than an older header may be missing from it.
  t.ok(newer.every((e) => Number(e.split('=')[1]) <= 211), 'the table has nothing past 211, where upstream froze the list');
  t.comment(`in the table but newer than this header: ${newer.join(', ') || 'none'}`);
});

t.test('the header parser reads both forms of the helper list', async (t) => {
  const old = ['#define __BPF_FUNC_MAPPER(FN)\t\\', '\tFN(unspec),\t\\', '\tFN(map_lookup_elem),\t\\', '\t/* */', 'FN(not_this)'];
  t.same([...headerHelpers(old.join('\n'))], [[0, 'unspec'], [1, 'map_lookup_elem']]);
  const current = [
    '#define ___BPF_FUNC_MAPPER(FN, ctx...)\t\\',
    '\tFN(unspec, 0, ##ctx)\t\\',
    '\tFN(map_lookup_elem, 1, ##ctx)\t\\',
    '\tFN(cgrp_storage_delete, 211, ##ctx)\t\\',
    '\t/* This helper list is effectively frozen. */',
    '#define __BPF_FUNC_MAPPER(FN) ___BPF_FUNC_MAPPER(__BPF_FUNC_MAPPER_APPLY, FN)',
  ];
  t.same([...headerHelpers(current.join('\n'))], [[0, 'unspec'], [1, 'map_lookup_elem'], [211, 'cgrp_storage_delete']]);
});

t.test('the table covers what the course programs call', async (t) => {
  const expected: [HelperName, number][] = [
    ['map_lookup_elem', 1], ['map_update_elem', 2], ['map_delete_elem', 3], ['probe_read', 4],
    ['ktime_get_ns', 5], ['trace_printk', 6], ['get_current_pid_tgid', 14], ['get_current_comm', 16],
    ['perf_event_output', 25], ['probe_read_str', 45], ['get_current_task', 35],
    ['probe_read_user', 112], ['probe_read_kernel', 113], ['probe_read_user_str', 114], ['probe_read_kernel_str', 115],
    ['ringbuf_output', 130], ['ringbuf_reserve', 131], ['ringbuf_submit', 132], ['ringbuf_discard', 133],
    ['cgrp_storage_delete', 211],
  ];
  for (const [name, id] of expected) t.equal(HELPERS[name], id, `bpf_${name} = ${id}`);
  t.equal(Object.keys(HELPERS).length, 212, 'ids 0…211, none missing');
  t.same(Object.values(HELPERS), [...Array(212).keys()], 'in id order');
});

t.test('helperId takes a name, a bpf_ name or an id', async (t) => {
  t.equal(helperId('map_lookup_elem'), 1);
  t.equal(helperId('bpf_map_lookup_elem'), 1);
  t.equal(helperId(130), 130);
  t.equal(helperId(9999), 9999, 'an id the table does not know is still an id: the verifier decides');
  t.throws(() => helperId('map_lookup' as HelperName), {
    name: 'RangeError',
    message: "find helper: unknown helper 'map_lookup' (names as in BPF_FUNC_<name>, e.g. 'map_lookup_elem')",
  });
  t.throws(() => helperId('constructor' as HelperName), /unknown helper 'constructor'/, 'nothing is found on Object.prototype');
  t.throws(() => helperId(-1), { message: 'find helper: -1 is not a helper id (a non-negative integer)' });
  t.throws(() => helperId(1.5), /1.5 is not a helper id/);
});

t.test('helperName gives the name, or undefined for an id the table does not know', async (t) => {
  t.equal(helperName(1), 'map_lookup_elem');
  t.equal(helperName(0), 'unspec');
  t.equal(helperName(212), undefined);
  t.equal(helperName(-1), undefined);
});

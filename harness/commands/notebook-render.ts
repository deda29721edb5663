// The notebooks' saved outputs: `./lab notebook --render` runs every notebook in a VM on the reference kernel
// (Debian 6.1) and writes what each cell showed into notebooks/*.ipynb, so that a student without root (or
// GitHub's viewer) reads them as they came out. A test runs them again there and compares each cell's saved
// outputs with the new ones by their structure: which outputs, of which kind, and their lines with every
// number, address and the project's path taken out — not timings, pids, fds or counts.

import { projectRoot } from '../engine/paths.js';

export interface NbOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  execution_count?: number | null;
  [k: string]: unknown;
}

export interface NbCell {
  cell_type: string;
  source: string | string[];
  metadata: { tags?: string[]; [k: string]: unknown };
  outputs?: NbOutput[];
  execution_count?: number | null;
  [k: string]: unknown;
}

export interface Notebook {
  cells: NbCell[];
  metadata: Record<string, unknown>;
  [k: string]: unknown;
}

/**
 * A cell tagged so has outputs whose lines differ from run to run by more than numbers (other processes'
 * lines in the trace pipe, which tools a log happens to list first): only the kinds of its outputs are compared.
 */
export const VARIES_TAG = 'output-varies';

/**
 * A cell tagged so shows what this machine kept from an earlier command (the last `./lab matrix` in
 * build/matrix/): a machine that never ran it gets a sentence saying how, instead of the saved table. Only
 * that it ran without an error is compared.
 */
export const LOCAL_TAG = 'output-local';

const joined = (s: string | string[] | undefined): string => (Array.isArray(s) ? s.join('') : (s ?? ''));

/**
 * One line as compared: a trace_pipe line's flags made `<flags>`, the project's folder named `<project>`,
 * hexadecimal addresses (0x…, and runs of four or more hex digits: bytes shown in hex) and every run of digits
 * made `#` (so 1.25 s and 13 ms differ only by unit), blanks collapsed.
 */
export function normalizeLine(line: string, root = projectRoot): string {
  return line
    // a trace_pipe line's latency flags (irqs-off, need-resched, hard/softirq, preempt depth: ".N.1", "d..2")
    // say what the CPU was doing at that instant, which no two runs share
    .replace(/^(\s*\S.*?-\d+\s+\[\d+\]\s+)[.a-zA-Z0-9]{4,5}(\s+\d+\.\d+:)/, '$1<flags>$2')
    .split(root)
    .join('<project>')
    .replace(/0x[0-9a-f]+/gi, '\u0001')
    // bytes in hex (an address as the attribute holds it): four or more hex digits, one of them a digit
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{4,}\b/g, '#')
    .replace(/\d+(\.\d+)?/g, '#')
    .replace(/\u0001/g, '0x#')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A text's lines as compared: normalized, blank ones dropped, a line repeated right after itself kept once. */
export function normalizeText(text: string, root = projectRoot): string[] {
  const out: string[] = [];
  for (const l of text.split('\n')) {
    const n = normalizeLine(l, root);
    if (n && n !== out[out.length - 1]) out.push(n);
  }
  return out;
}

export interface OutputShape {
  /** stdout, stderr, error, or the MIME type of a display (text/html, image/png). */
  kind: string;
  lines: string[];
}

/**
 * A cell's outputs as compared. Consecutive stream outputs of one name are one (how Jupyter splits a stream
 * depends on timing); an HTML output's table rows and headings each start a line; an image is its kind only.
 */
export function outputShapes(outputs: NbOutput[], o: { linesToo: boolean; root?: string }): OutputShape[] {
  const shapes: { kind: string; text: string }[] = [];
  for (const out of outputs) {
    if (out.output_type === 'stream') {
      const last = shapes[shapes.length - 1];
      if (last && last.kind === out.name) last.text += joined(out.text);
      else shapes.push({ kind: out.name ?? 'stream', text: joined(out.text) });
    } else if (out.output_type === 'error') {
      shapes.push({ kind: 'error', text: `${String(out.ename)}: ${String(out.evalue)}` });
    } else {
      const data = out.data ?? {};
      // the richest MIME type a viewer shows, as Jupyter picks it
      const mime = ['text/html', 'image/png', 'image/svg+xml', 'text/markdown', 'text/plain'].find((m) => m in data) ?? Object.keys(data).sort()[0] ?? out.output_type;
      const text = mime === 'text/html' ? joined(data[mime] as string | string[]).replace(/<(tr|h\d|p|pre|table)\b/g, '\n<$1') : mime.startsWith('text/') ? joined(data[mime] as string | string[]) : '';
      shapes.push({ kind: mime, text });
    }
  }
  return shapes.map((s) => ({ kind: s.kind, lines: o.linesToo ? normalizeText(s.text, o.root) : [] }));
}

const firstLine = (c: NbCell): string => joined(c.source).split('\n')[0]!.slice(0, 70);

/**
 * How the outputs of `ran` differ from those saved in `saved`, cell by cell (code cells, matched by position and
 * source): one sentence each, empty when they have the same structure.
 */
export function compareOutputs(saved: Notebook, ran: Notebook, root = projectRoot): string[] {
  const a = saved.cells.filter((c) => c.cell_type === 'code');
  const b = ran.cells.filter((c) => c.cell_type === 'code');
  if (a.length !== b.length) return [`${a.length} code cells saved, ${b.length} run`];
  const diffs: string[] = [];
  for (const [i, cell] of a.entries()) {
    const other = b[i]!;
    const where = `code cell ${i + 1} (${firstLine(cell)})`;
    if (joined(cell.source) !== joined(other.source)) {
      diffs.push(`${where}: its source changed since the outputs were saved (./lab notebook --render)`);
      continue;
    }
    const tags = cell.metadata.tags ?? [];
    const linesToo = !tags.includes(VARIES_TAG);
    const x = outputShapes(cell.outputs ?? [], { linesToo, root });
    const y = outputShapes(other.outputs ?? [], { linesToo, root });
    if (tags.includes(LOCAL_TAG)) {
      const bad = y.find((o) => o.kind === 'error' || o.kind === 'stderr');
      if (bad) diffs.push(`${where}: it wrote to ${bad.kind}`);
      continue;
    }
    const kinds = (s: OutputShape[]) => s.map((o) => o.kind).join(', ') || 'none';
    if (kinds(x) !== kinds(y)) {
      diffs.push(`${where}: saved outputs ${kinds(x)}; now ${kinds(y)}`);
      continue;
    }
    for (const [j, out] of x.entries()) {
      const now = y[j]!.lines;
      const k = out.lines.findIndex((l, n) => l !== now[n]);
      if (k >= 0 || out.lines.length !== now.length) {
        const at = k >= 0 ? k : Math.min(out.lines.length, now.length);
        diffs.push(`${where}, its ${out.kind} output, line ${at + 1}:\n  saved: ${out.lines[at] ?? '(nothing)'}\n  now:   ${now[at] ?? '(nothing)'}`);
      }
    }
  }
  return diffs;
}

/**
 * `saved` with the outputs and execution counts of `ran` (the same cells, executed), without nbclient's
 * per-cell timing metadata; the notebook's metadata records the kernel the outputs came from.
 */
export function withOutputs(saved: Notebook, ran: Notebook, kernelRelease: string): Notebook {
  const code = ran.cells.filter((c) => c.cell_type === 'code');
  let i = 0;
  const cells = saved.cells.map((c) => {
    if (c.cell_type !== 'code') return c;
    const r = code[i++];
    if (!r || joined(r.source) !== joined(c.source)) throw new Error(`code cell ${i} (${firstLine(c)}) is not the cell that ran`);
    const { execution: _timing, ...metadata } = r.metadata as { execution?: unknown; [k: string]: unknown };
    void _timing;
    return { ...c, metadata: { ...c.metadata, ...metadata, tags: c.metadata.tags }, outputs: r.outputs ?? [], execution_count: r.execution_count ?? null };
  });
  const clean = cells.map((c) => {
    if (c.cell_type === 'code' && c.metadata.tags === undefined) {
      const { tags: _t, ...rest } = c.metadata;
      void _t;
      return { ...c, metadata: rest };
    }
    return c;
  });
  return { ...saved, cells: clean, metadata: { ...saved.metadata, 'ebpf-lab': { outputs: `./lab notebook --render, on Linux ${kernelRelease}` } } };
}

/** The notebook as Jupyter writes it: one-space indent, a final newline. */
export const notebookJson = (nb: Notebook): string => `${JSON.stringify(nb, null, 1)}\n`;

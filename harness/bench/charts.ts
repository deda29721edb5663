// The bench's charts as PNG images: Vega-Lite describes each chart (axes, labels, scales done by a well-kept
// library instead of by hand), Vega renders it to SVG without a browser or a canvas, and resvg turns the SVG
// into PNG. PNG because classic Notebook hides SVG outputs of an untrusted notebook, and nbconvert may strip it.
// The libraries load only when a chart is drawn: ./lab's other commands never pay for them.

import { importPackage } from '../../lib/import-package.js';
import type { BenchReport, VariantBench } from './types.js';

export interface Chart {
  name: string;
  title: string;
  png: Buffer;
}

type Row = Record<string, string | number>;

const measured = (r: BenchReport) => r.variants.filter((v) => v.startup);

/** The data and encoding of each chart: a Vega-Lite spec per chart, the data inline. */
export function chartSpecs(r: BenchReport): { name: string; title: string; spec: Record<string, unknown> }[] {
  const where = `${r.target.kind} ${r.target.kernel}${r.target.kind !== 'host' ? ` (${r.target.accel})` : ''}`;
  const vs = measured(r);
  const bars = (title: string, rows: Row[], x: string, xTitle: string, color?: string): Record<string, unknown> => ({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: where },
    width: 480,
    data: { values: rows },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: 'variant', type: 'nominal', sort: null, title: null, axis: { labelLimit: 400 } },
      x: { field: x, type: 'quantitative', title: xTitle },
      ...(color ? { color: { field: color, type: 'nominal', title: null } } : {}),
    },
  });
  const startupRows = vs.flatMap((v: VariantBench) => [
    { variant: v.name, phase: 'ready', ms: v.startup!.readyMs.median },
    ...(v.startup!.firstEventMs ? [{ variant: v.name, phase: 'first event', ms: v.startup!.firstEventMs.median }] : []),
  ]);
  const startup = {
    ...bars(`Startup: launch to attached, and to the first event (median of ${r.repeats})`, startupRows, 'ms', 'ms'),
    encoding: {
      y: { field: 'variant', type: 'nominal', sort: null, title: null, axis: { labelLimit: 400 } },
      yOffset: { field: 'phase', type: 'nominal' },
      x: { field: 'ms', type: 'quantitative', title: 'ms' },
      color: { field: 'phase', type: 'nominal', title: null },
    },
  };
  const rss = bars('Peak RSS of the tracer\'s processes', vs.filter((v) => v.memory).map((v) => ({ variant: v.name, MB: v.memory!.rssKb / 1024 })), 'MB', 'MB (VmHWM, summed)');
  const lossRows = vs
    .filter((v) => v.storm?.account)
    .flatMap((v) => {
      const a = v.storm!.account!;
      return [
        { variant: v.name, kind: 'received', execs: a.received },
        { variant: v.name, kind: 'reported lost', execs: a.reportedLost },
        { variant: v.name, kind: 'missing silently', execs: a.silentlyMissing },
      ];
    });
  const loss = {
    ...bars(`Exec storm: ${r.storm} execs, what each tool saw`, lossRows, 'execs', 'execs (kernel count = whole bar)', 'kind'),
    encoding: {
      y: { field: 'variant', type: 'nominal', sort: null, title: null, axis: { labelLimit: 400 } },
      x: { field: 'execs', type: 'quantitative', stack: 'zero', title: 'execs (the whole bar is the kernel\'s count)' },
      color: { field: 'kind', type: 'nominal', title: null, scale: { domain: ['received', 'reported lost', 'missing silently'], range: ['#4c78a8', '#f58518', '#e45756'] } },
    },
  };
  const cost = bars(
    'Cost per exec: time in BPF programs (BPF_ENABLE_STATS)',
    vs.filter((v) => v.cost?.nsPerExec !== undefined).map((v) => ({ variant: v.name, ns: v.cost!.nsPerExec! })),
    'ns',
    'ns per exec, all its programs',
  );
  const slowdown = bars(
    'End to end: exec rate with the tracer, as a share of the run without',
    vs.filter((v) => v.storm?.ratio !== undefined).map((v) => ({ variant: v.name, share: v.storm!.ratio! })),
    'share',
    'traced / untraced exec rate',
  );
  return [
    { name: 'startup', title: 'Startup', spec: startup },
    { name: 'rss', title: 'Memory', spec: rss },
    { name: 'loss', title: 'Loss under an exec storm', spec: loss },
    { name: 'cost', title: 'Per-event cost', spec: cost },
    { name: 'rate', title: 'Exec rate, traced / untraced', spec: slowdown },
  ];
}

/** Every chart of a report as a PNG. */
export async function benchCharts(r: BenchReport): Promise<Chart[]> {
  const [vega, { compile }, { Resvg }] = await Promise.all([
    importPackage<typeof import('vega')>('vega'),
    importPackage<typeof import('vega-lite')>('vega-lite'),
    importPackage<typeof import('@resvg/resvg-js')>('@resvg/resvg-js'),
  ]);
  const out: Chart[] = [];
  for (const c of chartSpecs(r)) {
    const view = new vega.View(vega.parse(compile(c.spec as never).spec), { renderer: 'none' });
    const svg = await view.toSVG(2);
    view.finalize();
    const png = new Resvg(svg, { background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
    out.push({ name: c.name, title: c.title, png: Buffer.from(png) });
  }
  return out;
}

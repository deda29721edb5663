// The matrix's outputs for CI: JUnit XML (one test case per cell) and a Markdown summary fit for a CI job's
// summary page (GitHub's $GITHUB_STEP_SUMMARY). Pure functions of a run record.
//
// The JUnit XML is written here, not with junit-report-builder: that package (5.1.2) always puts a `skipped`
// attribute on <testsuites>, which the JUnit schema Jenkins reads reports with (xunit-plugin's junit-10.xsd,
// test/fixtures/junit/) does not allow. The tests validate this output against that schema.

import { CLASS_LABEL, CLASSES, countClasses, type ClassifiedCell } from './baseline.js';
import type { MatrixRecord } from './matrix-history.js';

/** Characters XML 1.0 cannot carry at all (control characters but tab, newline, carriage return). */
// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

export function xmlEscape(s: string): string {
  return s.replace(INVALID_XML, '\ufffd').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const attrs = (a: Record<string, string | number | undefined>) =>
  Object.entries(a)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');

/** How a cell is told in JUnit: failure (fails CI), skipped (with the reason), flaky attempts, or a plain pass. */
function testcase(c: ClassifiedCell, suite: string): string {
  const open = `    <testcase${attrs({ classname: suite, name: c.variant })}`;
  const body: string[] = [];
  const runs = c.runs.map((r) => r.status).join(', ');
  switch (c.class) {
    case 'new-failure':
    case 'expired':
      body.push(`      <failure${attrs({ type: c.class, message: `${CLASS_LABEL[c.class]}: ${c.reason}` })}>${xmlEscape(`${CLASS_LABEL[c.class]}: ${c.reason}\nruns: ${runs}`)}</failure>`);
      break;
    case 'known-failure':
    case 'not-run':
      body.push(`      <skipped${attrs({ type: c.class, message: c.reason.startsWith(CLASS_LABEL[c.class]) ? c.reason : `${CLASS_LABEL[c.class]}: ${c.reason}` })}/>`);
      break;
    case 'flaky':
      for (const r of c.runs.filter((r) => r.status !== 'pass')) body.push(`      <flakyFailure${attrs({ type: 'flaky', message: `${r.status}: ${r.reason ?? ''}` })}/>`);
      body.push(`      <system-out>${xmlEscape(`flaky: ${c.reason}`)}</system-out>`);
      break;
    default:
      if (c.status === 'skip') body.push(`      <skipped${attrs({ type: c.class, message: c.reason })}/>`);
      else if (c.class === 'newly-passing') body.push(`      <system-out>${xmlEscape(`newly passing: ${c.reason}`)}</system-out>`);
  }
  return body.length ? `${open}>\n${body.join('\n')}\n    </testcase>` : `${open}/>`;
}

/** JUnit XML: a test suite per kernel (named by the matrix's kernel name, its release and package in properties). */
export function matrixJunit(record: MatrixRecord): string {
  const suites = record.kernels.map((k) => {
    const cells = record.cells.filter((c) => c.kernel === k.kernel);
    const failures = cells.filter((c) => c.class === 'new-failure' || c.class === 'expired').length;
    const skipped = cells.filter((c) => c.class === 'known-failure' || c.class === 'not-run' || (c.status === 'skip' && c.class === 'as-expected')).length;
    const props = [
      ['release', k.release],
      ['package', k.package],
      ['not-run', k.error],
    ].filter(([, v]) => v !== undefined);
    const properties = props.length ? [`    <properties>`, ...props.map(([n, v]) => `      <property${attrs({ name: n, value: v })}/>`), `    </properties>`] : [];
    // a kernel that did not run still gets its cells, each skipped with the reason
    return [
      `  <testsuite${attrs({ name: `matrix.${k.kernel}`, tests: cells.length, failures, errors: 0, skipped, timestamp: record.startedAt.replace(/\.\d+Z$/, '').replace(/Z$/, '') })}>`,
      ...properties,
      ...cells.map((c) => testcase(c, `matrix.${k.kernel}`)),
      '  </testsuite>',
    ].join('\n');
  });
  const failures = record.cells.filter((c) => c.class === 'new-failure' || c.class === 'expired').length;
  return ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites${attrs({ name: 'ebpf-lab matrix', tests: record.cells.length, failures, errors: 0 })}>`, ...suites, '</testsuites>', ''].join('\n');
}

const ICON: Record<string, string> = {
  'new-failure': '❌ new failure',
  expired: '⌛ expired',
  flaky: '≈ flaky',
  'not-run': '⚠️ not run',
  'known-failure': '☑️ known failure',
  'newly-passing': '🎉 newly passing',
};

const mdEscape = (s: string) => s.replaceAll('|', '\\|').replace(/\n/g, ' ');

/** The headline: counts per class, worst first, the ones that are zero left out. */
export function headline(record: MatrixRecord): string {
  const counts = countClasses(record.cells);
  const parts = CLASSES.filter((c) => counts[c] > 0).map((c) => `${counts[c]} ${CLASS_LABEL[c]}`);
  return parts.join(', ') || 'no cell';
}

/**
 * Whether the run failed: with a baseline, only for a new failure or an expired entry; without one, also
 * when a kernel did not run (as ./lab matrix did before it had a baseline).
 */
export const recordFailed = (record: MatrixRecord): boolean =>
  record.cells.some((c) => c.class === 'new-failure' || c.class === 'expired') || (!record.baseline && record.kernels.some((k) => k.error));

/** Markdown for a CI job's summary page: the verdict, what changed (with reasons), the kernels, the full table. */
export function matrixSummaryMarkdown(record: MatrixRecord): string {
  const bad = recordFailed(record);
  const lines = [`## Kernel matrix: ${bad ? 'FAILED' : 'passed'} — ${headline(record)}`, ''];
  lines.push(
    `${record.baseline ? `Baseline \`${record.baseline}\`` : 'No baseline'}; ${record.rerunsRun} rerun${record.rerunsRun === 1 ? '' : 's'} of failing cells ran (--reruns ${record.reruns}). Run ${record.startedAt} – ${record.finishedAt}.`,
    '',
  );
  const changed = record.cells.filter((c) => c.class !== 'as-expected');
  if (changed.length) {
    lines.push('| kernel | variant | class | runs | reason |', '| --- | --- | --- | --- | --- |');
    for (const cls of CLASSES) {
      for (const c of changed.filter((x) => x.class === cls)) {
        const link = c.entries.find((e) => e.link)?.link;
        lines.push(`| ${c.kernel} | ${c.variant} | ${ICON[c.class] ?? c.class} | ${c.runs.map((r) => r.status).join(' ') || '—'} | ${mdEscape(c.reason)}${link ? ` ([link](${link}))` : ''} |`);
      }
    }
    lines.push('');
  }
  lines.push('| kernel | release | package | |', '| --- | --- | --- | --- |');
  for (const k of record.kernels) lines.push(`| ${k.kernel} | ${k.release ?? '—'} | ${mdEscape(k.package ?? '—')} | ${k.error ? `not run: ${mdEscape(k.error)}` : ''} |`);
  lines.push('');
  const variants = [...new Set(record.cells.map((c) => c.variant))];
  lines.push(`| variant | ${record.kernels.map((k) => k.kernel).join(' | ')} |`, `| --- | ${record.kernels.map(() => '---').join(' | ')} |`);
  for (const v of variants) {
    const cells = record.kernels.map((k) => {
      const c = record.cells.find((x) => x.kernel === k.kernel && x.variant === v);
      if (!c) return '';
      if (c.class === 'not-run') return 'not run';
      return c.class === 'as-expected' ? c.status : `${c.status} (${CLASS_LABEL[c.class]})`;
    });
    lines.push(`| ${v} | ${cells.join(' | ')} |`);
  }
  lines.push('');
  return lines.join('\n');
}

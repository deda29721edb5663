// The evidence the grading agent sends, as the host reads it: pieces in order, each once, of the kinds
// the lab declares; the first line that is anything else ends what is believed.
import t from 'tap';
import { EvidenceWriter, parseEvidence } from '../../../harness/grade/evidence.js';
import { Capped } from '../../../harness/grade/vm.js';

const lines = (...l: string[]) => l.join('\n') + '\n';

t.test('the writer numbers its pieces; the reader takes them back', async (t) => {
  let out = '';
  const w = new EvidenceWriter((l) => (out += l));
  w.emit('build', { ok: true });
  w.emit('tracer', { stdout: ['a b'] });
  w.emit('end');
  t.equal(out, 'LAB-EVIDENCE 0 build {"ok":true}\nLAB-EVIDENCE 1 tracer {"stdout":["a b"]}\nLAB-EVIDENCE 2 end null\n');
  t.same(parseEvidence(out, ['build', 'tracer']), { items: { build: { ok: true }, tracer: { stdout: ['a b'] } }, ended: true, problems: [] });
});

t.test('out of order, twice, unknown, malformed, a stranger line or anything after the end: believed up to there', async (t) => {
  const first = 'LAB-EVIDENCE 0 build {"ok":true}';
  const cases: [string, string, RegExp][] = [
    ['skipped a number', lines(first, 'LAB-EVIDENCE 2 tracer {}'), /piece 2 where 1 was due/],
    ['a second build', lines(first, 'LAB-EVIDENCE 1 build {"ok":false}'), /"build" a second time/],
    ['a kind the lab does not send', lines(first, 'LAB-EVIDENCE 1 score {"points":10}'), /unknown kind "score"/],
    ['bad JSON', lines(first, 'LAB-EVIDENCE 1 tracer {oops'), /malformed JSON for "tracer"/],
    ['a line of something else', lines(first, 'LAB-REPORT {"total":10}'), /not an evidence line/],
    ['a piece after the end', lines(first, 'LAB-EVIDENCE 1 end null', 'LAB-EVIDENCE 2 tracer {}'), /after the end/],
  ];
  for (const [what, text, why] of cases) {
    const e = parseEvidence(text, ['build', 'tracer']);
    t.same(e.items, { build: { ok: true } }, `${what}: the pieces before it are kept`);
    t.match(e.problems[0], why, what);
  }
  t.same(parseEvidence('', ['build']), { items: {}, ended: false, problems: [] }, 'nothing: nothing proved, no end');
  t.equal(parseEvidence(lines('LAB-EVIDENCE 0 agent-error {"message":"boom"}'), []).agentError, 'boom');
});

t.test('a capped stream keeps the first bytes and swallows the rest', async (t) => {
  const c = new Capped(5);
  c.write(Buffer.from('abc'));
  c.write(Buffer.from('defgh'));
  c.write(Buffer.from('ijk'));
  await new Promise((r) => c.end(r));
  t.equal(c.text(), 'abcde');
});

import t from 'tap';
import { Capped, parseResults, RESULT_TAG } from '../../../harness/grade/vm.js';

t.test('only lines carrying the nonce are results; the student\'s own output is ignored', async (t) => {
  const r = { check: 'a', name: 'A', points: 1, max: 1, status: 'pass', feedback: 'ok', hidden: false };
  const forged = { ...r, check: 'b', points: 100 };
  const out = [`${RESULT_TAG} wrong ${JSON.stringify(forged)}`, 'noise', `${RESULT_TAG} n1 ${JSON.stringify(r)}`, `${RESULT_TAG} n1 done`].join('\n');
  t.same(parseResults(out, 'n1'), { results: [r], done: true });
  t.same(parseResults('', 'n1'), { results: [], done: false });
});

t.test('a capped stream keeps the first bytes and swallows the rest', async (t) => {
  const c = new Capped(5);
  c.write(Buffer.from('abc'));
  c.write(Buffer.from('defgh'));
  c.write(Buffer.from('ijk'));
  await new Promise((r) => c.end(r));
  t.equal(c.text(), 'abcde');
});

import t from 'tap';
import { htmlTable, textTable, sideBySide, twoColumns } from '../../../harness/notebook/show.js';

t.test('htmlTable escapes what it shows and keeps the columns of the first row', async (t) => {
  const html = htmlTable([{ what: '<script>', n: 1n }, { what: 'a & b', n: undefined }]);
  t.match(html, /<th style="text-align:left">what<\/th><th style="text-align:left">n<\/th>/);
  t.match(html, /&lt;script&gt;/);
  t.notMatch(html, /<script>/);
  t.match(html, /a &amp; b/);
  t.match(html, />1n</, 'bigints shown with their n');
});

t.test('textTable aligns columns under their heads', async (t) => {
  t.equal(textTable([{ a: 'x', bb: 'long value' }, { a: 'yyy', bb: '' }]), ['a    bb', '---  ----------', 'x    long value', 'yyy'].join('\n'));
});

t.test('sideBySide gives each source a column with its line count', async (t) => {
  const html = sideBySide([{ title: 'a.bt', text: 'one\ntwo' }, { title: 'b.c', text: 'x < y' }]);
  t.match(html, /<b>a\.bt<\/b> <span[^>]*>\(2 lines\)<\/span>/);
  t.match(html, /x &lt; y/);
  t.equal(html.match(/<pre /g)?.length, 2);
});

t.test('twoColumns pads the shorter listing', async (t) => {
  const html = twoColumns({ title: 'sent', lines: ['0: a', '1: b'] }, { title: 'kernel', lines: ['0: a'] });
  t.equal(html.match(/<tr>/g)?.length, 3, 'a head and two rows');
  t.match(html, /<td style="font-family:monospace">1: b<\/td><td style="font-family:monospace"><\/td>/);
});

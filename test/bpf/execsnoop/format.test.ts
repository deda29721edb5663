import t from 'tap';
import { formatArgs, quoteArg } from '../../../bpf/execsnoop/format.js';

const cases: [string, string][] = [
  ['/bin/true', '/bin/true'],
  ['', "''"],
  ['two words', "'two words'"],
  ["it's", "'it'\\''s'"],
  ['a\nb', "$'a\\nb'"],
  ['LLL...', 'LLL...'],
  ['a b...', "'a b...'"],
  ['$HOME', "'$HOME'"],
];
for (const [arg, printed] of cases) {
  t.equal(quoteArg(arg), printed, `${JSON.stringify(arg)} prints as ${printed}`);
}
t.equal(formatArgs(['/bin/echo', 'a b', '']), "/bin/echo 'a b' ''", 'arguments are joined by single spaces');

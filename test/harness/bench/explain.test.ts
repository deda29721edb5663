import t from 'tap';
import { explainLoss } from '../../../harness/bench/explain.js';
import { findVariant } from '../../../harness/examples/index.js';

t.test('a loss is explained by the bench\'s sentence, else by the variant\'s own burst expectation, else said to be unexplained', async (t) => {
  t.equal(explainLoss(findVariant('execsnoop/libbpf')!, 0, 0), undefined, 'nothing lost, nothing to explain');
  t.match(explainLoss(findVariant('counter/bpftrace')!, 0, 912), /4,096 keys/);
  t.match(explainLoss(findVariant('execsnoop/upstream-bpftrace')!, 94, 0), /Lost N events/);
  t.match(explainLoss(findVariant('execsnoop/upstream-bcc')!, 3, 0), /perf event of its own/, "the variant's declared reason");
  t.match(explainLoss(findVariant('execsnoop/libbpf')!, 0, 1), /not explained yet/);
});

// One guest of `./lab vm stress` on the kernel whose text patching crashed most often under QEMU 7.2's
// multi-threaded TCG (7.2: "Oops: int3" in trace_syscall_enter), run the way every guest now runs.
import t from 'tap';
import { stressGuest, STRESS_MODES } from '../../vm/stress.js';

t.setTimeout(10 * 60_000);

t.test('a guest attaching and detaching tracers on busy vCPUs finishes every cycle without a kernel splat', async (t) => {
  const g = await stressGuest('7.2', STRESS_MODES.backports, 3);
  t.equal(g.outcome, 'ok', `${g.detail ?? ''} (console log: ${g.consoleLog})`);
  t.equal(g.cycles, 3, 'every tracer attached in every cycle');
});

// ./lab setup: install and build what every other command needs (engine/setup.ts), and say what was done.

import { parseOptions } from '../../lib/args.js';
import { ensureSetup } from '../engine/setup.js';

export async function setupCommand(argv: string[]): Promise<number> {
  const { values } = parseOptions({ args: argv, options: { kernels: { type: 'string', default: '6.1' } } });
  const kernels = values.kernels ? values.kernels.split(',').filter((k) => k && k !== 'host') : [];
  const done = await ensureSetup({ build: true, kernels, log: (l) => process.stderr.write(`lab setup: ${l}\n`) });
  const installed = done.filter((l) => /^(installed|building)/.test(l));
  process.stdout.write(installed.length ? `${installed.join('\n')}\n` : 'nothing to install: everything is in place\n');
  return 0;
}

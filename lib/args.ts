// Command-line options, parsed by Node's own util.parseArgs (no dependency needed for flags this
// simple); a parse error is bad usage: exit 2 with the message (docs/CONTRACT.md).

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

/** parseArgs, strict, throwing UsageError (with `usage` appended when given) instead of TypeError. */
export function parseOptions<T extends Omit<ParseArgsConfig, 'strict'>>(config: T, usage?: string): ReturnType<typeof parseArgs<T & { strict: true }>> {
  try {
    return parseArgs({ ...config, strict: true as const });
  } catch (err) {
    throw new UsageError(usage ? `${(err as Error).message}\n\n${usage}` : (err as Error).message);
  }
}

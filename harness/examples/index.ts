// The registry: every example the harness runs, in the order its tables appear. Adding an example is one
// module next to these (see the README's "Adding an example") and one line here.

import type { Example } from '../engine/example.js';
import { variantName, type Variant } from '../engine/variant.js';
import { counter } from './counter.js';
import { execsnoop } from './execsnoop/index.js';
import { hello } from './hello.js';
import { opensnoop } from './opensnoop/index.js';

// Each example's item and expectation types are its own; the harness only passes them back to it.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const EXAMPLES: Example<any, any, any>[] = [execsnoop, counter, hello, opensnoop];

export const VARIANTS: Variant[] = EXAMPLES.flatMap((e) => e.variants);

/** The example a variant belongs to. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function exampleOf(v: Pick<Variant, 'example'>): Example<any, any, any> {
  const e = EXAMPLES.find((x) => x.name === v.example);
  if (!e) throw new Error(`no example named ${JSON.stringify(v.example)} (examples: ${EXAMPLES.map((x) => x.name).join(', ')})`);
  return e;
}

/** The variant called EXAMPLE/TOOL, or undefined. */
export const findVariant = (name: string): Variant | undefined => VARIANTS.find((v) => variantName(v) === name);

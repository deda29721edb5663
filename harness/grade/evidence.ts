// What the grading agent sends back: evidence, never a score. Each piece is one line on the agent's
// stdout, `LAB-EVIDENCE <seq> <kind> <json>`, as soon as it is known, so a guest that dies keeps what
// came before. The host takes the pieces a lab declares, in order, each once, and stops believing the
// stream at the first line that is anything else: only the agent writes there (the student's commands
// run jailed, their output piped to the agent), so such a line is the grader's fault or the jail's.

export const EVIDENCE_TAG = 'LAB-EVIDENCE';

/** The agent ran to its end: what is missing was never going to come. */
export const END = 'end';
/** The agent itself failed (the grader's error, not the student's): `{ message }`. */
export const AGENT_ERROR = 'agent-error';

/** The agent's side: one line per piece, numbered. */
export class EvidenceWriter {
  private seq = 0;
  constructor(private readonly write: (line: string) => void = (l) => process.stdout.write(l)) {}
  emit(kind: string, value: unknown = null): void {
    this.write(`${EVIDENCE_TAG} ${this.seq++} ${kind} ${JSON.stringify(value)}\n`);
  }
}

export interface Evidence {
  /** Kind → its value, for the pieces that came. */
  items: Record<string, unknown>;
  /** The agent said `end`. */
  ended: boolean;
  /** Why the stream was not believed past some line (empty when all of it was). */
  problems: string[];
  /** The agent's own failure, when it said so. */
  agentError?: string;
}

/** The host's side: the pieces of `kinds` (plus end and agent-error), in order, each once. */
export function parseEvidence(stdout: string, kinds: readonly string[]): Evidence {
  const known = new Set([...kinds, END, AGENT_ERROR]);
  const out: Evidence = { items: {}, ended: false, problems: [] };
  let expected = 0;
  const lines = stdout.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [n, line] of lines.entries()) {
    const m = /^LAB-EVIDENCE (\d+) ([a-z][a-z0-9-]*) (.*)$/.exec(line);
    const why = !m
      ? 'not an evidence line'
      : Number(m[1]) !== expected
        ? `piece ${m[1]} where ${expected} was due`
        : !known.has(m[2]!)
          ? `unknown kind "${m[2]}"`
          : m[2]! in out.items || (m[2] === END && out.ended)
            ? `"${m[2]}" a second time`
            : out.ended
              ? 'after the end'
              : undefined;
    let value: unknown;
    if (!why) {
      try {
        value = JSON.parse(m![3]!);
      } catch {
        out.problems.push(`line ${n + 1}: malformed JSON for "${m![2]}"`);
        break;
      }
    }
    if (why) {
      out.problems.push(`line ${n + 1}: ${why}: ${JSON.stringify(line.slice(0, 120))}`);
      break;
    }
    expected++;
    if (m![2] === END) out.ended = true;
    else if (m![2] === AGENT_ERROR) out.agentError = String((value as { message?: unknown })?.message ?? value);
    else out.items[m![2]!] = value;
  }
  return out;
}

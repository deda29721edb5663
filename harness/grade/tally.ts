// Partial credit: a check's subcases tallied on the host, and the points and feedback a tally gives.

/** Partial credit from subcases: the fraction right, and the first one wrong. */
export interface Tally {
  right: number;
  total: number;
  firstWrong?: string;
}

export function tally(cases: { name: string; ok: boolean; detail?: string }[]): Tally {
  const wrong = cases.find((c) => !c.ok);
  return { right: cases.filter((c) => c.ok).length, total: cases.length, ...(wrong ? { firstWrong: `${wrong.name}${wrong.detail ? `: ${wrong.detail}` : ''}` } : {}) };
}

/** A check's outcome from a tally: points in proportion, the first wrong subcase as feedback. */
export function fromTally(t: Tally | undefined, points: number, okText: string): { score: number; feedback: string } {
  if (!t || t.total === 0) return { score: 0, feedback: 'not exercised: it needs the parts before it (a map created) to work first' };
  if (t.right === t.total) return { score: points, feedback: okText };
  return { score: (points * t.right) / t.total, feedback: `${t.right} of ${t.total} right; first wrong: ${t.firstWrong}` };
}

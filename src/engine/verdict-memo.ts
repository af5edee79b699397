/**
 * Verdicts with detail, kept by the engine's memo id: a repeated denial (the same entry, code and
 * field values, which the engine compares byte for byte) is answered with the verdict built the
 * first time, without reading the explanation again.
 *
 * Checklist:
 * - id 0 means "not memoised": nothing is looked up or kept;
 * - a kept verdict and its failure are frozen (callers copy before adding fields);
 * - at most MEMO_LIMIT verdicts are kept; the map is emptied when it is full.
 */
import type { Verdict } from './types.ts';

/** Most memoised verdicts kept. */
const MEMO_LIMIT = 4096;

/** The verdict kept for memo id `id`, if any. */
export function memoised(memo: Map<number, Verdict>, id: number): Verdict | undefined {
  return id === 0 ? undefined : memo.get(id);
}

/** Keeps `verdict` for memo id `id` (frozen) and returns it. */
export function memoise(memo: Map<number, Verdict>, id: number, verdict: Verdict): Verdict {
  if (id === 0) return verdict;
  if (memo.size >= MEMO_LIMIT) memo.clear();
  if (verdict.failure) Object.freeze(verdict.failure);
  memo.set(id, Object.freeze(verdict));
  return verdict;
}

/**
 * The rollback floor: the highest revision that verified for a policy URL, and its bytes' hash.
 * A copy below it is a rollback; a second set of bytes for its revision is refused.
 *
 * Checklist:
 * - the floor comes only from what verifies: with keys, the stored mark's signature (re-verified
 *   for this id) and the cached copy; without, a well-formed mark and the cached copy;
 * - the highest wins, so editing one of them cannot lower it; deleting both is a first visit;
 * - a revision means something only for a signed policy or one that declares it.
 */
import type { RevisionMark } from './policy-store.ts';
import { verifySignatureFile } from './policy-integrity.ts';
import type { Checked } from './policy-integrity.ts';
import type { VerificationContext, Verified } from './policy-verification.ts';

/** The rollback floor: the highest revision that verified, and its bytes' hash. */
export interface Floor {
  revision: number;
  sha256: string | null;
}

/**
 * The rollback floor, from what verifies: with keys, the stored mark's signature (re-verified for
 * this id) and the cached copy; without, the mark when well-formed and the cached copy. The
 * highest wins, so editing one of them cannot lower it; deleting both is a first visit.
 */
export async function trustedFloor(
  mark: unknown,
  fromCache: Checked<Verified> | null,
  context: VerificationContext,
): Promise<Floor | null> {
  const floors: Floor[] = [];
  const m =
    mark !== null && typeof mark === 'object'
      ? (mark as Partial<Record<keyof RevisionMark, unknown>>)
      : {};
  if (context.keys.length > 0) {
    if (
      typeof m.signature === 'string' &&
      m.signature !== (fromCache?.ok === true ? fromCache.value.signature : null)
    ) {
      const signed = await verifySignatureFile(m.signature, { id: context.id }, context.keys);
      if (signed.ok) floors.push({ revision: signed.value.revision, sha256: signed.value.sha256 });
    }
  } else if (typeof m.highest === 'number' && Number.isSafeInteger(m.highest) && m.highest >= 0) {
    floors.push({ revision: m.highest, sha256: typeof m.sha256 === 'string' ? m.sha256 : null });
  }
  if (fromCache?.ok === true)
    floors.push({ revision: fromCache.value.revision ?? 0, sha256: fromCache.value.sha256 });
  let floor: Floor | null = null;
  for (const candidate of floors)
    if (floor === null || candidate.revision > floor.revision) floor = candidate;
  return floor;
}

/**
 * Refuses a rollback (a revision below the floor) and a second set of bytes for the floor's
 * revision, when the revision means something: a signed policy, or one that declares it.
 */
export function checkFloor(copy: Verified, floor: Floor | null): Checked<null> {
  if (floor === null) return { ok: true, value: null };
  const revision = copy.revision ?? 0;
  if (revision < floor.revision) {
    return {
      ok: false,
      error: `policy revision ${revision} is lower than revision ${floor.revision} already seen for this url (rollback refused); publish revision ${floor.revision} or higher`,
    };
  }
  const declared = copy.signature !== null || copy.revision !== null;
  if (
    revision === floor.revision &&
    declared &&
    floor.sha256 !== null &&
    copy.sha256 !== floor.sha256
  ) {
    return {
      ok: false,
      error: `policy revision ${revision} was already accepted with other bytes (sha256 ${floor.sha256}, now ${copy.sha256}): one revision carries one policy; publish the change as revision ${revision + 1}`,
    };
  }
  return { ok: true, value: null };
}

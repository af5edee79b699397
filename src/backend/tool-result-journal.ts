/**
 * The backend's copy of the untrusted results the engine kept, where the engine's
 * death cannot reach it: a fresh engine records them again, in order, before it answers a call.
 *
 * Checklist:
 * - it keeps only results the engine answered `untrusted: true` (what a session holds), marked
 *   untrusted so that a fresh engine keeps them whatever it would decide;
 * - it is bounded: past MAX_JOURNAL_UNITS of result JSON, a session keeps no results but a
 *   saturation mark, which a fresh engine restores as a saturated session (every value then
 *   counts as from untrusted content: never less strict than what was lost);
 * - it outlives a policy load, as the engine's untrusted content does; `forget` empties it.
 */
import type { ToolResultRecord } from '../engine/types.ts';
import { own } from '../call/own-properties.ts';
import { errorText } from '../encoding/text.ts';

/** Most UTF-16 units of result JSON kept, over all sessions (the engine's own bound). */
export const MAX_JOURNAL_UNITS = 1 << 20;

/** A record to replay into a fresh engine: a result, or a session's saturation mark. */
export type JournalRecord = ToolResultRecord & { saturate?: true };

/**
 * A plain copy of a record to send to the worker, with its result's JSON text; or why it has none
 * (a result that is not JSON: a function, a BigInt, a cycle, a non-finite number).
 */
export function plainRecord(
  record: ToolResultRecord,
): { record: ToolResultRecord; json: string } | { error: string } {
  let json: string | undefined;
  try {
    json = JSON.stringify(own(record, 'result'), (_key, value: unknown) => {
      if (typeof value === 'number' && !Number.isFinite(value))
        throw new Error('a non-finite number');
      return value;
    });
  } catch (error) {
    return {
      error: `tool result: the result is not plain JSON (${errorText(error)}); pass what the tool returned as JSON data`,
    };
  }
  const plain: ToolResultRecord = {
    tool: own(record, 'tool') as string,
    result: JSON.parse(json ?? 'null') as unknown,
  };
  for (const key of ['role', 'session', 'untrusted'] as const) {
    const value = own(record, key);
    if (value !== undefined) (plain as unknown as Record<string, unknown>)[key] = value;
  }
  return { record: plain, json: json ?? 'null' };
}

/** Untrusted results kept for a fresh engine; see the module comment. */
export class ToolResultJournal {
  #records: JournalRecord[] = [];
  #units = 0;
  readonly #saturated = new Set<string>();

  /** Keeps a result the engine kept as untrusted content (`json`: its JSON text). */
  add(record: ToolResultRecord, json: string): void {
    const session = record.session ?? '';
    if (this.#saturated.has(session)) return;
    if (this.#units + json.length > MAX_JOURNAL_UNITS) {
      this.saturate(session);
      return;
    }
    this.#units += json.length;
    this.#records.push({
      tool: record.tool,
      session,
      result: JSON.parse(json) as unknown,
      untrusted: true,
    });
  }

  /** Marks a session saturated: its results are dropped, the mark is kept. */
  saturate(session: string): void {
    this.#saturated.add(session);
    this.#records = this.#records.filter((r) => r.session !== session);
    this.#units = this.#records.reduce((n, r) => n + JSON.stringify(r.result).length, 0);
  }

  /** What a fresh engine records, in order: results first, then the saturation marks. */
  records(): JournalRecord[] {
    const marks: JournalRecord[] = [...this.#saturated].map((session) => ({
      tool: '(saturated)',
      session,
      result: null,
      untrusted: true,
      saturate: true,
    }));
    return [...this.#records, ...marks];
  }

  /** Forgets everything (`forget()`). */
  clear(): void {
    this.#records = [];
    this.#units = 0;
    this.#saturated.clear();
  }
}

/**
 * The backend's copy of the untrusted results the engine kept, where the engine's
 * death cannot reach it: a fresh engine records them again, in order, before it answers a call.
 *
 * Checklist:
 * - it keeps only results the engine answered `untrusted: true` (what a session holds), marked
 *   untrusted so that a fresh engine keeps them whatever it would decide;
 * - it keeps what the engine keeps of a result: its non-empty texts (strings, numbers as JSON
 *   writes them, object keys, at any depth), replayed as an array of strings (the same texts);
 * - it is bounded as the engine is: past MAX_JOURNAL_UNITS UTF-16 units of text over all
 *   sessions, the session that records more keeps no results but a saturation mark, which a fresh
 *   engine restores as a saturated session (every value then counts as from untrusted content);
 *   so does a result whose record is over the engine's input bound (`overInputBound`, in UTF-8
 *   bytes), which saturated the engine's session too;
 * - it outlives a policy load, as the engine's untrusted content does; `forget` empties it.
 */
import type { ToolResultRecord } from '../engine/types.ts';
import { own } from '../call/own-properties.ts';
import { overInputBound, recordText } from '../engine/result-record.ts';

/** Most UTF-16 units of untrusted text kept, over all sessions (the engine's own bound). */
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
  } catch {
    // Not the error's text: a cycle's names its keys, which are the result's own (untrusted)
    // content, and a guarded call's Deny carries this to the model (the engine says the same).
    return {
      error:
        'tool result: the result is not plain JSON (a function, a BigInt, a cycle or a non-finite number); pass what the tool returned as JSON data',
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

// The non-empty texts the engine keeps of a parsed JSON value, in the engine's order.
function texts(value: unknown, out: string[]): string[] {
  if (typeof value === 'string') {
    if (value !== '') out.push(value);
  } else if (typeof value === 'number') out.push(JSON.stringify(value));
  else if (Array.isArray(value)) for (const item of value) texts(item, out);
  else if (typeof value === 'object' && value !== null)
    for (const key of Object.keys(value)) {
      if (key !== '') out.push(key);
      texts((value as Record<string, unknown>)[key], out);
    }
  return out;
}

/** Untrusted results kept for a fresh engine; see the module comment. */
export class ToolResultJournal {
  #records: (JournalRecord & { units: number })[] = [];
  #units = 0;
  readonly #saturated = new Set<string>();

  /** Keeps a result the engine kept as untrusted content (`json`: its JSON text). */
  add(record: ToolResultRecord, json: string): void {
    const session = record.session ?? '';
    if (this.#saturated.has(session)) return;
    // A result over that much JSON saturated the engine's session (result-record.ts).
    if (overInputBound(recordText(record, json))) {
      this.saturate(session);
      return;
    }
    const result = texts(JSON.parse(json), []);
    const units = result.reduce((n, text) => n + text.length, 0);
    if (this.#units + units > MAX_JOURNAL_UNITS) {
      this.saturate(session);
      return;
    }
    this.#units += units;
    this.#records.push({ tool: record.tool, session, result, untrusted: true, units });
  }

  /** Marks a session saturated: its results are dropped, the mark is kept. */
  saturate(session: string): void {
    this.#saturated.add(session);
    this.#records = this.#records.filter((r) => r.session !== session);
    this.#units = this.#records.reduce((n, r) => n + r.units, 0);
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
    const kept: JournalRecord[] = this.#records.map(({ units: _, ...record }) => record);
    return [...kept, ...marks];
  }

  /** Forgets everything (`forget()`). */
  clear(): void {
    this.#records = [];
    this.#units = 0;
    this.#saturated.clear();
  }
}

/**
 * A tool's result as the engine's `recordResult` input (engine/assembly/record-result.ts): the
 * session, tool, role and the result as JSON, or the answer already when the record is malformed;
 * and the engine's reply read back as a RecordAnswer.
 *
 * Checklist:
 * - never throws: a record that cannot be read is an `{ok: false}` answer that says what to pass;
 * - a result that hides a null (a function, a symbol, a non-finite number) is not plain JSON;
 * - a result too large to keep (its record over MAX_FIELD_BYTES of UTF-8, the engine's input bound,
 *   counted in bytes, not UTF-16 units: 400,000 `€` are 1.2 MB) saturates an untrusted tool's
 *   session instead (fail closed: every value then counts as from untrusted content).
 */
import type { RecordAnswer, ToolResultRecord } from './types.ts';
import type { EngineCore } from './engine-core.ts';
import { MAX_FIELD_BYTES, isWellFormed } from './call-writer.ts';
import { refuseHiddenNull } from './hidden-null.ts';
import { errorText } from '../encoding/text.ts';

/**
 * Hands a tool's result to `engine`, which keeps it as the session's untrusted content when the
 * policy's `untrusted_tools` name the tool or `record.untrusted` is true. A result too large to
 * keep (over 1 MiB as JSON) saturates the session instead: every value then counts as from
 * untrusted content. Never throws; a trap kills the instance.
 */
export function recordResultIn(engine: EngineCore, record: ToolResultRecord): RecordAnswer {
  if (engine.fault !== null) return { ok: false, error: engine.fault };
  if (engine.loaded === null)
    return { ok: false, error: 'no policy loaded; load a valid policy first' };
  const { x, mem } = engine;
  return recordToolResult(record, (text) => {
    try {
      return readRecordReply(
        mem.sendText(text, (ptr, length) => mem.take(x.recordResult(ptr, length))),
      );
    } catch (e) {
      return { ok: false, error: engine.kill(e) };
    }
  });
}

/** Sends `record` to the engine through `send` (one engine input as JSON text); never throws. */
export function recordToolResult(
  record: ToolResultRecord,
  send: (text: string) => RecordAnswer,
): RecordAnswer {
  let text: string;
  try {
    if (typeof record !== 'object' || record === null)
      return { ok: false, error: 'tool result: expected an object {tool, role, result}' };
    const { tool, role, result, session, untrusted } = record;
    if ((record as { saturate?: unknown }).saturate === true)
      return send(JSON.stringify({ session: session ?? '', tool, untrusted, saturate: true }));
    if (session !== undefined && (typeof session !== 'string' || !isWellFormed(session)))
      return { ok: false, error: 'tool result: session must be a string' };
    if (result === undefined)
      return {
        ok: false,
        error: 'tool result: result is missing; pass the JSON value the tool returned',
      };
    let json: string | undefined;
    try {
      json = JSON.stringify(result, refuseHiddenNull);
    } catch {
      json = undefined;
    }
    if (json === undefined)
      return {
        ok: false,
        error:
          'tool result: the result is not plain JSON; pass what the tool returned as JSON data',
      };
    const head = { session: session ?? '', tool, role, untrusted };
    text = recordText(record, json);
    if (overInputBound(text)) {
      // Too large to keep: an untrusted tool's result saturates its session (fail closed).
      const probe = send(JSON.stringify({ ...head, result: null }));
      if (!probe.ok || !probe.untrusted) return probe;
      return send(JSON.stringify({ ...head, saturate: true }));
    }
  } catch (e) {
    return {
      ok: false,
      error: `tool result: cannot be read (${errorText(e)}); pass plain JSON data`,
    };
  }
  return send(text);
}

/** The engine's `recordResult` input for `record`, whose result is the JSON text `json`. */
export function recordText(record: ToolResultRecord, json: string): string {
  const { session, tool, role, untrusted } = record;
  return `${JSON.stringify({ session: session ?? '', tool, role, untrusted }).slice(0, -1)},"result":${json}}`;
}

/**
 * True when `text` is over the engine's input bound (MAX_FIELD_BYTES of UTF-8), also when it has
 * fewer UTF-16 units than that: a unit may take up to 3 bytes.
 */
export function overInputBound(text: string): boolean {
  return (
    text.length > MAX_FIELD_BYTES ||
    (text.length * 3 > MAX_FIELD_BYTES && new TextEncoder().encode(text).length > MAX_FIELD_BYTES)
  );
}

/**
 * The engine's answer to a `recordResult` input, read from its JSON reply.
 * @throws when the reply is not JSON (the engine is then broken)
 */
export function readRecordReply(reply: string): RecordAnswer {
  const answer = JSON.parse(reply) as { recorded?: boolean; untrusted?: boolean; error?: string };
  if (answer.recorded === true) return { ok: true, untrusted: answer.untrusted === true };
  return { ok: false, error: String(answer.error ?? 'the engine did not record the result') };
}

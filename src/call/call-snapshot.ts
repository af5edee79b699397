/**
 * A caller's call object, read once into a plain object that holds only its own fields.
 *
 * `Perso.evaluate` and `evaluateBatch` take whatever object a host passes. That object can be
 * hostile or merely unlucky: a library may have put `args` on `Object.prototype` (so a call with
 * no args of its own would be decided on the inherited ones), a getter may throw, a Proxy may trap.
 * Everything after the snapshot reads the snapshot, never the caller's object again.
 *
 * Checklist:
 * - own fields only: an inherited `args`, `role` or `agentAttributes` reads as absent;
 * - each field is read once (a getter runs once, so it cannot answer one way to the check and
 *   another to the run);
 * - reading never throws: what the caller's code throws is the reason, naming the field;
 * - absent fields stay absent, and the snapshot is written as a literal (an assignment would run a
 *   setter a page put on `Object.prototype`);
 * - nothing but the documented fields is copied (no symbol keys: the host's approval mark cannot
 *   come in from a caller's object).
 */
import type { ToolCall } from './decision.ts';
import { errorText } from '../encoding/text.ts';

/**
 * Reads `value`'s own `tool`, `args`, `role`, `agentAttributes`, `resourceAttributes`, `now` and
 * `session`, once each, into a new object; or, when it cannot (not an object, a getter or a Proxy
 * trap that throws), why not: the reason of its `invalid_request` Deny, after `invalid request: `.
 *
 * @param value the call a host passed
 */
export function snapshotCall(value: ToolCall): ToolCall | string {
  if (value === null || typeof value !== 'object')
    return 'expected an object {tool, args, role}; pass the call as an object';
  // One literal shape for every call: absent fields are undefined, which every reader takes as
  // absent; each key is the snapshot's own, so the writes below run no setter of Object.prototype.
  const call: Record<(typeof FIELDS)[number], unknown> = {
    tool: undefined,
    args: undefined,
    role: undefined,
    agentAttributes: undefined,
    resourceAttributes: undefined,
    now: undefined,
    session: undefined,
  };
  let field: (typeof FIELDS)[number] | '' = '';
  try {
    for (field of FIELDS) if (Object.hasOwn(value, field)) call[field] = value[field];
  } catch (error) {
    return `${field}: cannot be read (${errorText(error)}); pass plain data`;
  }
  return call as unknown as ToolCall;
}

const FIELDS = [
  'tool',
  'args',
  'role',
  'agentAttributes',
  'resourceAttributes',
  'now',
  'session',
] as const;

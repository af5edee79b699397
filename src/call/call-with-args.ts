/**
 * A call with its canonical args: what `Perso` decides and audits instead of the caller's object.
 *
 * Checklist:
 * - own fields only: an inherited one (a polluted `Object.prototype.resourceAttributes`) is absent;
 * - absent fields stay absent: fewer keys for a worker message to copy;
 * - written as literals, which define their keys: an assignment would run (or be refused by) a
 *   setter a page put on `Object.prototype`.
 */
import type { JsonObject, ToolCall } from './decision.ts';
import { own } from './own-properties.ts';

/** The call with its canonical args in place of the given ones (absent fields stay absent). */
export function withArgs(call: ToolCall, args: Readonly<JsonObject>): ToolCall {
  // Absent fields stay absent: fewer keys for a worker message to copy. Inherited ones (a polluted
  // Object.prototype.resourceAttributes) are absent too. Written as literals, which define their
  // keys: an assignment would run (or be refused by) a setter a page put on Object.prototype.
  const agentAttributes = own(call, 'agentAttributes');
  const resourceAttributes = own(call, 'resourceAttributes');
  const now = own(call, 'now');
  const session = own(call, 'session');
  const checked: ToolCall = {
    tool: own(call, 'tool') as string,
    args,
    role: own(call, 'role') as string,
  };
  if (
    agentAttributes === undefined &&
    resourceAttributes === undefined &&
    now === undefined &&
    session === undefined
  )
    return checked;
  return {
    ...checked,
    ...(agentAttributes === undefined ? {} : { agentAttributes }),
    ...(resourceAttributes === undefined ? {} : { resourceAttributes }),
    ...(now === undefined ? {} : { now }),
    ...(session === undefined ? {} : { session }),
  };
}

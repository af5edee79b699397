// `recordResult`: a tool's result reaches the engine, which keeps it when the tool is untrusted
// (taint.ts). Input: UTF-8 JSON `{"session"?, "tool", "role"?, "result", "untrusted"?,
// "saturate"?}`; answer `{"recorded":true,"untrusted":bool}` or `{"error": ...}`.
//
// Invariants:
// - a result is untrusted when the active policy's untrusted_tools name its tool, or when the host
//   says so (`"untrusted": true`, e.g. WebMCP's untrustedContentHint); the host cannot make an
//   untrusted tool's result trusted
// - `"saturate": true` (a host restoring a session whose results it could not keep) saturates it
// - without a policy, or on malformed input, nothing is recorded and the answer is an error

import { JFALSE, JNULL, JOBJECT, JSTRING, JTRUE } from './json-value';
import { JsonParser } from './json-parser';
import { active } from './decision';
import { recordUntrusted, saturateSession } from './taint';
import { E_NOT_INITIALISED } from './messages';

/** The answer's JSON text, or an error message prefixed with `!`. */
export function recordResultText(ptr: usize, len: i32): string {
  const p = active;
  if (p == null) return '!' + E_NOT_INITIALISED;
  const parser = new JsonParser(ptr, len);
  const v = parser.parse();
  if (v == null) return '!tool result: ' + parser.message();
  if (v.kind != JOBJECT) return '!tool result: expected a JSON object {"tool", "role", "result"}';
  const sessionV = v.get('session');
  let session = '';
  if (sessionV != null && sessionV.kind != JNULL) {
    if (sessionV.kind != JSTRING) return '!tool result: session must be a string';
    session = sessionV.str;
  }
  const toolV = v.get('tool');
  if (toolV == null || toolV.kind != JSTRING || toolV.str.length == 0)
    return '!tool result: tool must be a non-empty string (the name of the tool that returned the result)';
  const roleV = v.get('role');
  if (roleV != null && roleV.kind != JNULL && (roleV.kind != JSTRING || roleV.str.length == 0))
    return '!tool result: role must be a non-empty string';
  const hintV = v.get('untrusted');
  if (hintV != null && hintV.kind != JNULL && hintV.kind != JTRUE && hintV.kind != JFALSE)
    return '!tool result: untrusted must be true or false';
  const saturateV = v.get('saturate');
  if (saturateV != null && saturateV.kind == JTRUE) {
    saturateSession(session);
    return '{"recorded":true,"untrusted":true}';
  }
  const result = v.get('result');
  if (result == null)
    return '!tool result: result is missing; pass the JSON value the tool returned';
  const untrusted = p.untrusted.has(toolV.str) || (hintV != null && hintV.kind == JTRUE);
  if (untrusted) recordUntrusted(session, result);
  return untrusted ? '{"recorded":true,"untrusted":true}' : '{"recorded":true,"untrusted":false}';
}

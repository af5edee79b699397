// The byte-level entry points: the original ABI (init, evaluate) and the fast path (plan, decide,
// explain). Every response is a little-endian u32 length N then N bytes of UTF-8 JSON.
//
// Invariants:
// - a failed init leaves the active policy untouched
// - every malformed input ends in an `{"error": ...}` response, never a trap
// - the host frees what `init`, `evaluate` and `plan` return with `dealloc(ptr, 4 + N)`;
//   `explain` answers in an engine-owned buffer that stays valid until the next call

import {
  REGION_HEADER,
  SRC_AGENT,
  SRC_ARGUMENTS,
  T_FALSE,
  T_JSON,
  T_MISSING,
  T_NULL,
  T_NUMBER,
  T_STRING,
  T_TRUE,
} from '../../src/engine/engine-boundary';
import {
  E_OUT_OF_BOUNDS,
  E_AGENT_ATTRS,
  E_ARGS_NOT_OBJECT,
  E_CTX_NOT_OBJECT,
  E_NOT_INITIALISED,
  E_NOW,
  E_RESOURCE_ATTRS,
  E_ROLE_MISSING,
  E_TOOL_EMPTY,
  E_TOOL_UTF8,
  E_INPUT_TOO_LARGE,
  E_SESSION,
} from './messages';
import { forgetTaint, selectSession, wTaintState } from './taint';
import { recordResultText } from './record-result';
import { wBudgetState } from './budget';
import {
  JNULL,
  JNUMBER,
  JOBJECT,
  JSTRING,
  JFALSE,
  JTRUE,
  JARRAY,
  JValue,
  resetPool,
  writeJson,
} from './json-value';
import { JsonParser, MAX_INPUT } from './json-parser';
import { decodeUtf8String } from './utf8';
import { formatNumber, jsonString, jsonStrings, toJson } from './json-text';
import { Entry, Policy } from './policy';
import { Compiler } from './compiler';
import { diagnosticsJson } from './diagnostics';
import { dataStart, region, reserve, slotsValid } from './slots';
import { activate, active, decide, hasDecided, lastRetryAfter, memoizeLast } from './decision';
import { explainReason, explainedLeaf, wNoRule } from './reasons';
import { wResponse } from './response';
import { Writer, madeGarbage, out, reason } from './writer';

// The minimal runtime collects only when asked. Exported functions call `collectSometimes` last,
// when no managed reference lives on the wasm stack, so a collection can never free one in use.
let garbageCalls: i32 = 0;

/** Runs a full collection every 64 calls that made garbage: bounded memory, amortised cost. */
export function collectSometimes(): void {
  madeGarbage = false;
  if (++garbageCalls >= 64) {
    garbageCalls = 0;
    __collect();
  }
}

/** Copies a writer's bytes into a fresh host-owned response buffer. */
function respondWith(w: Writer): usize {
  const p = heap.alloc(<usize>w.len + 4);
  store<u32>(p, <u32>w.len);
  memory.copy(p + 4, w.ptr, <usize>w.len);
  return p;
}

/** Copies `s` as UTF-8 into a fresh host-owned response buffer. */
export function respond(s: string): usize {
  const w = out;
  w.reset();
  w.str(s);
  return respondWith(w);
}

/** An `{"error": message}` response. */
export function fail(message: string): usize {
  return respond('{"error":' + jsonString(message) + '}');
}

/** True when [ptr, ptr + len) lies inside linear memory (hosts pass what `alloc` gave them). */
function inMemory(ptr: usize, len: i32): bool {
  return len >= 0 && <u64>ptr + <u64>len <= (<u64>memory.size()) << 16;
}

/** `init`: compiles the policy at [ptr, ptr + len) and makes it active when valid. */
export function initPolicy(ptr: usize, len: i32): usize {
  if (!inMemory(ptr, len)) return fail(E_OUT_OF_BOUNDS);
  const parser = new JsonParser(ptr, len);
  const doc = parser.parse();
  if (doc == null) {
    const msg = parser.message();
    return respond(
      '{"error":' +
        jsonString('policy: ' + msg) +
        ',"errors":[{"path":"policy","message":' +
        jsonString(msg) +
        '}],"warnings":[]}',
    );
  }
  const c = new Compiler();
  c.compile(doc);
  if (c.errors.length > 0) {
    const first = c.errors[0];
    const more = c.errors.length > 1 ? ' (and ' + formatNumber(c.errors.length - 1) + ' more)' : '';
    return respond(
      '{"error":' +
        jsonString('invalid policy: ' + first.path + ': ' + first.message + more) +
        ',"errors":' +
        diagnosticsJson(c.errors) +
        ',"warnings":' +
        diagnosticsJson(c.warnings) +
        toolPinsJson(c.policy) +
        '}',
    );
  }
  const p = c.policy;
  activate(p);
  return respond(
    '{"ok":true,"version":' +
      jsonString(p.version) +
      ',"mode":"' +
      (p.shadow ? 'shadow' : 'enforce') +
      '","default_action":"' +
      (p.defaultAllow ? 'Allow' : 'Deny') +
      '","tools":' +
      jsonStrings(p.tools) +
      ',"roles":' +
      jsonStrings(p.roles) +
      ',"rule_count":' +
      formatNumber(p.ruleCount) +
      ',"approval":"' +
      (p.webauthn ? 'webauthn' : 'click') +
      '","rate_limits":' +
      (p.hasRateLimits ? 'true' : 'false') +
      ',"budgets":' +
      (p.hasBudgets ? 'true' : 'false') +
      ',"annotation_defaults":' +
      (p.annotationDefaults ? 'true' : 'false') +
      ',"untrusted_tools":' +
      jsonStrings(p.untrusted.values()) +
      ',"warnings":' +
      diagnosticsJson(c.warnings) +
      toolPinsJson(p) +
      '}',
  );
}

/** `,"tool_pins":<the value as written>` when the policy has the key, for the host to check. */
function toolPinsJson(p: Policy): string {
  const pins = p.toolPins;
  return pins == null ? '' : ',"tool_pins":' + toJson(pins);
}

function resolve(root: JValue, path: string[]): JValue | null {
  let v = root;
  for (let i = 0; i < path.length; i++) {
    if (v.kind != JOBJECT) return null;
    const next = v.get(path[i]);
    if (next == null) return null;
    v = next;
  }
  return v;
}

/** Writes the entry's fields from parsed request values into the region's slots. */
const values = new Array<JValue | null>();
// The fields' texts (a string's UTF-8, an array's or object's JSON) one after another, and where
// each one ends.
const texts = new Writer();
const textEnds = new Array<i32>();

function fillSlots(p: Policy, e: Entry, args: JValue, agent: JValue, resource: JValue): void {
  const fields = e.fields;
  const n = fields.length;
  values.length = n;
  textEnds.length = n;
  const w = texts;
  w.reset();
  for (let i = 0; i < n; i++) {
    const f = p.fields[fields[i]];
    const root = f.source == SRC_ARGUMENTS ? args : f.source == SRC_AGENT ? agent : resource;
    const v = resolve(root, f.path);
    values[i] = v;
    if (v != null) {
      if (v.kind == JSTRING) w.str(v.str);
      else if (v.kind == JARRAY || v.kind == JOBJECT) writeJson(w, v);
    }
    textEnds[i] = w.len;
  }
  const base = reserve(w.len);
  memory.copy(base + <usize>dataStart, w.ptr, <usize>w.len);
  for (let i = 0; i < n; i++) {
    const s = base + <usize>REGION_HEADER + ((<usize>fields[i]) << 4);
    const v = values[i];
    if (v == null) {
      store<u8>(s, T_MISSING);
      continue;
    }
    switch (v.kind) {
      case JNULL:
        store<u8>(s, T_NULL);
        break;
      case JFALSE:
        store<u8>(s, T_FALSE);
        break;
      case JTRUE:
        store<u8>(s, T_TRUE);
        break;
      case JNUMBER: {
        store<u8>(s, T_NUMBER);
        store<f64>(s, v.num, 8);
        break;
      }
      default: {
        const start = i == 0 ? 0 : textEnds[i - 1];
        store<u8>(s, v.kind == JSTRING ? T_STRING : T_JSON);
        store<u32>(s, <u32>(textEnds[i] - start), 4);
        store<u32>(s, <u32>(dataStart + start), 8);
      }
    }
  }
}

const EMPTY_OBJECT = emptyObject();

function emptyObject(): JValue {
  const o = new JValue(JOBJECT);
  o.keys = [];
  o.items = [];
  return o;
}

function objectOrEmpty(v: JValue | null): JValue | null {
  if (v == null || v.kind == JNULL) return EMPTY_OBJECT;
  return v.kind == JOBJECT ? v : null;
}

/** `evaluate`: the original ABI. Tool name raw UTF-8, arguments JSON, context JSON. */
export function evaluateRaw(
  toolPtr: usize,
  toolLen: i32,
  argsPtr: usize,
  argsLen: i32,
  ctxPtr: usize,
  ctxLen: i32,
): usize {
  const p = active;
  if (p == null) return fail(E_NOT_INITIALISED);
  if (!inMemory(toolPtr, toolLen) || !inMemory(argsPtr, argsLen) || !inMemory(ctxPtr, ctxLen))
    return fail(E_OUT_OF_BOUNDS);
  if (toolLen <= 0) return fail(E_TOOL_EMPTY);
  if (toolLen > MAX_INPUT) return fail(E_INPUT_TOO_LARGE);
  const tool = decodeUtf8String(toolPtr, toolLen);
  if (tool == null) return fail(E_TOOL_UTF8);
  resetPool();
  const ap = new JsonParser(argsPtr, argsLen);
  ap.pooled = true;
  const args = ap.parse();
  if (args == null) return fail('arguments: ' + ap.message());
  if (args.kind != JOBJECT) return fail(E_ARGS_NOT_OBJECT);
  const cp = new JsonParser(ctxPtr, ctxLen);
  cp.pooled = true;
  const ctx = cp.parse();
  if (ctx == null) return fail('context: ' + cp.message());
  if (ctx.kind != JOBJECT) return fail(E_CTX_NOT_OBJECT);
  const roleV = ctx.get('role');
  if (roleV == null || roleV.kind != JSTRING || roleV.str.length == 0) return fail(E_ROLE_MISSING);
  const agent = objectOrEmpty(ctx.get('agent_attrs'));
  if (agent == null) return fail(E_AGENT_ATTRS);
  const resource = objectOrEmpty(ctx.get('resource_attrs'));
  if (resource == null) return fail(E_RESOURCE_ATTRS);
  const nowV = ctx.get('now');
  let now: f64 = 0;
  let hasNow = false;
  if (nowV != null) {
    // `null` is refused like any other non-number: it must not mean "no time" here and "now" elsewhere.
    if (nowV.kind != JNUMBER) return fail(E_NOW);
    now = nowV.num;
    hasNow = true;
  }
  const sessionV = ctx.get('session');
  if (sessionV != null && sessionV.kind != JSTRING && sessionV.kind != JNULL)
    return fail(E_SESSION);
  selectSession(sessionV != null && sessionV.kind == JSTRING ? sessionV.str : '');
  const role = roleV.str;
  const e = p.lookup(tool, role);
  if (e == null) {
    reason.reset();
    wNoRule(reason, tool, role);
    const w = out;
    w.reset();
    w.str(p.defaultAllow ? '{"decision":"Allow","reason":"' : '{"decision":"Deny","reason":"');
    w.jsonBytes(reason.ptr, reason.len);
    w.str('","kind":"no_rule"}');
    return respondWith(w);
  }
  fillSlots(p, e, args, agent, resource);
  decide(p, e, now, hasNow);
  explainReason(p);
  wResponse(p);
  return respondWith(out);
}

/** `decide`: the fast path. Returns the packed decision code, or -1 when the slots are malformed. */
export function decideFast(entry: i32, now: f64, hasNow: i32): i32 {
  const p = active;
  if (p == null || entry < 0 || entry >= p.entries.length) return -1;
  const e = unchecked(p.entries[entry]);
  if (!slotsValid(e)) return -1;
  // hasNow bit 0: a time is given; bit 1: a person approved the call (see decide).
  const code = decide(p, e, now, (hasNow & 1) != 0, (hasNow & 2) != 0);
  memoizeLast(code);
  if (madeGarbage) collectSometimes();
  return code;
}

/**
 * `explain`: the last decision's detail in an engine-owned buffer valid until the next call:
 * u32 reason byte length, i32 failed leaf id (-1: none), f64 retry-after seconds (-1: none),
 * then the reason's UTF-8 bytes.
 */
export function explainFast(): usize {
  const p = active;
  const w = out;
  w.reset();
  w.ensure(16);
  if (p == null || !hasDecided()) {
    store<u32>(w.ptr, 0);
    store<i32>(w.ptr, -1, 4);
    store<f64>(w.ptr, -1, 8);
    return w.ptr;
  }
  explainReason(p);
  const leaf = explainedLeaf();
  w.ensure(16 + reason.len);
  store<u32>(w.ptr, <u32>reason.len);
  store<i32>(w.ptr, leaf == null ? -1 : leaf.leaf, 4);
  store<f64>(w.ptr, lastRetryAfter(), 8);
  memory.copy(w.ptr + 16, reason.ptr, <usize>reason.len);
  return w.ptr;
}

/** The request region's address (changes after `reserve` grows it or a policy loads). */
export function regionPtr(): usize {
  return region;
}

/** `recordResult`: a tool result for the session's untrusted content (record-result.ts). */
export function recordResultJson(ptr: usize, len: i32): usize {
  if (!inMemory(ptr, len)) return fail(E_OUT_OF_BOUNDS);
  const text = recordResultText(ptr, len);
  return text.startsWith('!') ? fail(text.substring(1)) : respond(text);
}

/** `session`: makes the UTF-8 name at [ptr, ptr + len) the session the next decisions read; 1 when done. */
export function selectSessionAt(ptr: usize, len: i32): i32 {
  if (!inMemory(ptr, len)) return 0;
  const key = decodeUtf8String(ptr, len);
  if (key == null) return 0;
  selectSession(key);
  return 1;
}

const stateOut = new Writer();

/** `state`: the decision state that outlives a call, as JSON: `{"untrusted": {...}, "budgets": [...]}`. */
export function stateJson(): usize {
  const w = stateOut;
  w.reset();
  w.str('{"untrusted":');
  wTaintState(w);
  w.str(',"budgets":');
  wBudgetState(w);
  w.byte(0x7d);
  return respondWith(w);
}

/** `forget`: ends every session's untrusted content. */
export function forgetState(): void {
  forgetTaint();
}

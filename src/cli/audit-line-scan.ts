/**
 * One audit-log line read the quick way, for a replay, in place in its block of lines: perso
 * writes its records in one compact shape, and most of a record repeats from line to line (the
 * head from `tool` to `policyHash` is one of a few texts per policy, the attribute objects and
 * often the args repeat too). The scan checks each part once per distinct text, keeps what it
 * read, and on the next line compares the text (one native comparison) instead of reading it
 * again; only the id, the time and `now` are read on every line.
 *
 * Checklist (a line the scan does not vouch for goes to the full reader, which has the last word):
 * - it vouches only for perso's compact shape: `{"id":…,"time":…,` then the head's keys in perso's
 *   order with string values (`rule`, `policyVersion`, `policyHash` may be null), `"enforced":`
 *   true or false, then members whose values are strings, numbers, literals or flat objects; no
 *   whitespace between tokens, keys without escapes;
 * - every character of the line is checked against JSON's grammar: by a sticky pattern, by a
 *   comparison with a text checked before, or by a character test; so every value kept is the one
 *   `JSON.parse` gives for the whole line;
 * - keys are distinct at every depth, none of the head's keys comes again, a `type` (a tool
 *   result's record) or `__proto__` key is declined;
 * - it vouches only for values of the types the reader takes (strings for the head, a decision of
 *   Allow, Deny or Ask, objects for args and attributes, args canonical, a finite `now`), so the
 *   reader's only check left is the time's;
 * - searches in the block (the next backslash, the next `"enforced":`) are remembered from line to
 *   line, so reading a block scans each character a bounded number of times;
 * - what it keeps is copied out of the block (a slice would keep the whole block alive).
 */
import type { Decision } from '../call/decision.ts';
import type { FlatEntry } from './flat-json.ts';
import {
  FlatObjects,
  STRING_PATTERN,
  STRING_REST,
  detached,
  holds,
  numberEnd,
  numberValue,
  stringValue,
} from './flat-json.ts';
import { NextIndex } from './next-index.ts';
import { TextMemo } from './text-memo.ts';

/** The head's keys, in the order perso writes them (audit-record.ts). */
export const HEAD_KEYS = [
  'id',
  'time',
  'tool',
  'role',
  'decision',
  'reason',
  'kind',
  'rule',
  'policyVersion',
  'policyHash',
  'enforced',
] as const;
/** Keys a member after the head may not have: the head's, a tool result's `type`, `__proto__`. */
const REFUSED_KEYS: ReadonlySet<string> = new Set([...HEAD_KEYS, 'type', '__proto__']);

const ENFORCED = ',"enforced":';
/** From `,"tool":` through `,"enforced":`, in perso's order. */
const HEAD = new RegExp(
  `,"tool":${STRING_PATTERN},"role":${STRING_PATTERN},"decision":${STRING_PATTERN},"reason":${STRING_PATTERN},"kind":${STRING_PATTERN},"rule":(?:${STRING_PATTERN}|null),"policyVersion":(?:${STRING_PATTERN}|null),"policyHash":(?:${STRING_PATTERN}|null)${ENFORCED}`,
  'y',
);

/** The members a replay reads after the head, in the order perso writes them. */
const TAIL = [
  'args',
  'argsSha256',
  'agentAttributes',
  'resourceAttributes',
  'now',
  'rememberedApproval',
  'session',
  'argsHmac',
] as const;
const TAIL_TEXT = TAIL.map((key) => `,"${key}":`);
const ARGS = 0;
const ARGS_SHA256 = 1;
const AGENT = 2;
const RESOURCE = 3;
const NOW = 4;
const REMEMBERED = 5;
const SESSION = 6;
const ARGS_HMAC = 7;
/** Flat-object slots: one last text each (args, agentAttributes, resourceAttributes, rememberedApproval, others). */
const OTHER_SLOT = 4;

const DECISIONS: ReadonlySet<string> = new Set(['Allow', 'Deny', 'Ask']);
const FAULT_KINDS: ReadonlySet<string> = new Set(['invalid_request', 'no_policy', 'engine_fault']);

/** A head read once (its text from `,"tool":` up to `,"enforced":`): what a replay reads of it. */
export interface HeadEntry {
  readonly tool: string;
  readonly role: string;
  readonly decision: Decision;
  readonly reason: string;
  readonly kind: string;
  /** The deciding rule, or null. */
  readonly rule: string | null;
  /** `kind` says a fault decided (`invalid_request`, `no_policy`, `engine_fault`). */
  readonly fault: boolean;
}

/** A body read once (its text from `,"tool":` up to `,"now":`, which ends the line): its fields. */
interface BodyFields {
  readonly head: HeadEntry;
  readonly args: Readonly<Record<string, unknown>> | undefined;
  readonly agentAttributes: Readonly<Record<string, unknown>> | undefined;
  readonly resourceAttributes: Readonly<Record<string, unknown>> | undefined;
  readonly session: string | undefined;
  readonly rememberedApproval: Readonly<Record<string, unknown>> | undefined;
  readonly hashed: boolean;
}

/** Heads and bodies remembered before all are forgotten. */
const MEMO_LIMIT = 4096;
const NOW_KEY = ',"now":';

/** Where `,"now":` starts when the line (ending before `end`) ends with it, a number and `}`; else -1. */
function nowKeyAt(text: string, end: number): number {
  if (text.charCodeAt(end - 1) !== 0x7d) return -1;
  let at = end - 2;
  for (
    let c = text.charCodeAt(at);
    (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x2b || c === 0x65 || c === 0x45;
    c = text.charCodeAt(--at)
  );
  at -= NOW_KEY.length - 1;
  return at >= 0 && holds(text, at, NOW_KEY) ? at : -1;
}

/** The fields a replay reads (absent ones undefined), in one shape whatever read the line. */
export class ScannedRecord {
  id: unknown = undefined;
  time: unknown = undefined;
  tool: unknown = undefined;
  role: unknown = undefined;
  decision: unknown = undefined;
  reason: unknown = undefined;
  kind: unknown = undefined;
  rule: unknown = undefined;
  args: unknown = undefined;
  argsHmac: unknown = undefined;
  argsSha256: unknown = undefined;
  agentAttributes: unknown = undefined;
  resourceAttributes: unknown = undefined;
  now: unknown = undefined;
  session: unknown = undefined;
  rememberedApproval: unknown = undefined;

  /** Fills every field from a parsed line's own properties. */
  fill(parsed: Record<string, unknown>): this {
    this.id = own(parsed, 'id');
    this.time = own(parsed, 'time');
    this.tool = own(parsed, 'tool');
    this.role = own(parsed, 'role');
    this.decision = own(parsed, 'decision');
    this.reason = own(parsed, 'reason');
    this.kind = own(parsed, 'kind');
    this.rule = own(parsed, 'rule');
    this.args = own(parsed, 'args');
    this.argsHmac = own(parsed, 'argsHmac');
    this.argsSha256 = own(parsed, 'argsSha256');
    this.agentAttributes = own(parsed, 'agentAttributes');
    this.resourceAttributes = own(parsed, 'resourceAttributes');
    this.now = own(parsed, 'now');
    this.session = own(parsed, 'session');
    this.rememberedApproval = own(parsed, 'rememberedApproval');
    return this;
  }
}

function own(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Reads lines in place; after {@link scanAt} vouches for one, its fields hold the line's values. */
export class AuditLineScan {
  /** The head (tool, role, decision, reason, kind), shared by the lines that repeat it. */
  head: HeadEntry | null = null;
  /** The args (a frozen flat object, shared by the lines that repeat it), or undefined. */
  args: Readonly<Record<string, unknown>> | undefined = undefined;
  agentAttributes: Readonly<Record<string, unknown>> | undefined = undefined;
  resourceAttributes: Readonly<Record<string, unknown>> | undefined = undefined;
  now: number | undefined = undefined;
  session: string | undefined = undefined;
  /** The line has `argsSha256` or `argsHmac`. */
  hashed = false;
  rememberedApproval: Readonly<Record<string, unknown>> | undefined = undefined;

  #text = '';
  #idStart = 0;
  #idEnd = 0;
  #timeStart = 0;
  #timeEnd = 0;
  #idEscaped = false;
  #timeEscaped = false;
  readonly #slash = new NextIndex('\\');
  readonly #enforced = new NextIndex(ENFORCED);
  readonly #heads = new TextMemo<HeadEntry>(MEMO_LIMIT);
  readonly #bodies = new TextMemo<BodyFields>(MEMO_LIMIT);
  readonly #flats = new FlatObjects();
  /** The line read a head or a flat object not remembered before. */
  #learned = false;
  readonly #lastFlat: (FlatEntry | null)[] = [null, null, null, null, null];

  /**
   * Reads the line of `text` from `start` to `end` (its `\n` or `\r\n` excluded); true when the
   * scan vouches for it, its values then in the fields (valid until the next call). Objects it
   * reads are frozen and may be shared between lines.
   */
  scanAt(text: string, start: number, end: number): boolean {
    if (!holds(text, start, '{"id":"')) return false;
    STRING_REST.lastIndex = start + 7;
    if (!STRING_REST.test(text)) return false;
    let at = STRING_REST.lastIndex;
    this.#text = text;
    this.#idStart = start + 7;
    this.#idEnd = at - 1;
    if (!holds(text, at, ',"time":"')) return false;
    STRING_REST.lastIndex = at + 9;
    if (!STRING_REST.test(text)) return false;
    this.#timeStart = at + 9;
    at = STRING_REST.lastIndex;
    this.#timeEnd = at - 1;
    // Asked in the order of the line, so the block's backslashes are searched once.
    this.#idEscaped = this.#slash.within(text, this.#idStart, this.#idEnd);
    this.#timeEscaped = this.#slash.within(text, this.#timeStart, this.#timeEnd);
    // Most lines end with `,"now":N}` after a body (tool to attributes) an earlier line had.
    const bodyStart = at;
    const nowKey = nowKeyAt(text, end);
    if (nowKey > bodyStart) {
      const body = this.#bodies.find(text, bodyStart, nowKey);
      if (body !== undefined) return this.#fromBody(body, text, nowKey + NOW_KEY.length, end);
    }
    this.#learned = false;
    const enforced = this.#enforced.find(text, at);
    if (enforced === -1 || enforced >= end) return false;
    const head = this.#head(text, at, enforced);
    if (head === null) return false;
    this.head = head;
    at = enforced + ENFORCED.length;
    if (holds(text, at, 'true')) at += 4;
    else if (holds(text, at, 'false')) at += 5;
    else return false;
    at = this.#tail(text, at);
    if (at !== end - 1 || text.charCodeAt(at) !== 0x7d) return false;
    // Valid, and `now` comes last: the rest of the line is a body to remember, once its parts
    // were all seen before (a body with a new part, new args say, is seldom seen again).
    if (nowKey > bodyStart && !this.#learned)
      this.#bodies.add(text, bodyStart, nowKey, this.#body());
    return true;
  }

  /** The line's fields from a remembered body, with its `now` read from `from`; false when `now` is not a finite number ending the line. */
  #fromBody(body: BodyFields, text: string, from: number, end: number): boolean {
    if (numberEnd(text, from) !== end - 1) return false;
    const now = numberValue(text, from, end - 1);
    if (!Number.isFinite(now)) return false;
    this.now = now;
    this.head = body.head;
    this.args = body.args;
    this.agentAttributes = body.agentAttributes;
    this.resourceAttributes = body.resourceAttributes;
    this.session = body.session;
    this.rememberedApproval = body.rememberedApproval;
    this.hashed = body.hashed;
    return true;
  }

  /** The fields of the line read last but its id, time and `now`. */
  #body(): BodyFields {
    return {
      head: this.head!,
      args: this.args,
      agentAttributes: this.agentAttributes,
      resourceAttributes: this.resourceAttributes,
      session: this.session,
      rememberedApproval: this.rememberedApproval,
      hashed: this.hashed,
    };
  }

  /** The id of the line read last. */
  id(): string {
    return stringValue(this.#text, this.#idStart, this.#idEnd, this.#idEscaped);
  }

  /** The time of the line read last. */
  time(): string {
    return stringValue(this.#text, this.#timeStart, this.#timeEnd, this.#timeEscaped);
  }

  /** The time of the line read last starts with `prefix` and is `length` long (no copy made). */
  timeIs(prefix: string, length: number): boolean {
    return (
      this.#timeEnd - this.#timeStart === length &&
      !this.#timeEscaped &&
      holds(this.#text, this.#timeStart, prefix)
    );
  }

  /** The code of the time's character at `index`. */
  timeCharCode(index: number): number {
    return this.#text.charCodeAt(this.#timeStart + index);
  }

  /**
   * Reads a whole line into a record as `JSON.parse` would (absent fields undefined), or null
   * when the scan does not vouch for it.
   */
  scan(text: string): ScannedRecord | null {
    if (!this.scanAt(text, 0, text.length)) return null;
    const record = new ScannedRecord();
    const head = this.head!;
    record.id = this.id();
    record.time = this.time();
    record.tool = head.tool;
    record.role = head.role;
    record.decision = head.decision;
    record.reason = head.reason;
    record.kind = head.kind;
    record.rule = head.rule;
    record.args = this.args;
    record.agentAttributes = this.agentAttributes;
    record.resourceAttributes = this.resourceAttributes;
    record.now = this.now;
    record.session = this.session;
    record.rememberedApproval = this.rememberedApproval;
    if (this.hashed) {
      // Values the reader only asks about; the line is JSON, without a key given twice.
      const parsed = JSON.parse(text) as Record<string, unknown>;
      record.argsSha256 = own(parsed, 'argsSha256');
      record.argsHmac = own(parsed, 'argsHmac');
    }
    return record;
  }

  /** The head from `from` up to `enforced` (where `,"enforced":` starts), read once per text. */
  #head(text: string, from: number, enforced: number): HeadEntry | null {
    const known = this.#heads.find(text, from, enforced);
    if (known !== undefined) return known;
    HEAD.lastIndex = from;
    if (!HEAD.test(text) || HEAD.lastIndex !== enforced + ENFORCED.length) return null;
    const values = JSON.parse(`{${text.slice(from + 1, enforced)}}`) as Record<
      string,
      string | null
    >;
    const { tool, role, decision, reason, kind, rule } = values;
    if (!DECISIONS.has(decision!)) return null;
    // A fault is always a Deny: the full reader says why another decision with one is malformed.
    if (decision !== 'Deny' && FAULT_KINDS.has(kind!)) return null;
    const entry: HeadEntry = {
      tool: tool!,
      role: role!,
      decision: decision as Decision,
      reason: reason!,
      kind: kind!,
      rule: rule ?? null,
      fault: FAULT_KINDS.has(kind!),
    };
    this.#heads.add(text, from, enforced, entry);
    this.#learned = true;
    return entry;
  }

  /** Reads the members after the head into the fields; where they end, or -1 when one is declined. */
  #tail(text: string, from: number): number {
    this.args = undefined;
    this.agentAttributes = undefined;
    this.resourceAttributes = undefined;
    this.now = undefined;
    this.session = undefined;
    this.hashed = false;
    this.rememberedApproval = undefined;
    let seen = 0;
    let next = 0;
    let others: string[] | null = null;
    let at = from;
    while (text.charCodeAt(at) === 0x2c) {
      let member = -1;
      for (let i = next; i < TAIL.length && member === -1; i++)
        if (holds(text, at, TAIL_TEXT[i]!)) member = i;
      for (let i = 0; i < next && member === -1; i++)
        if (holds(text, at, TAIL_TEXT[i]!)) member = i;
      if (member === -1) {
        // Any other key: its value is checked and skipped; it may not repeat.
        if (text.charCodeAt(at + 1) !== 0x22) return -1;
        STRING_REST.lastIndex = at + 2;
        if (!STRING_REST.test(text)) return -1;
        const keyEnd = STRING_REST.lastIndex - 1;
        if (text.charCodeAt(keyEnd + 1) !== 0x3a || this.#slash.within(text, at + 2, keyEnd))
          return -1;
        const key = text.slice(at + 2, keyEnd);
        if (REFUSED_KEYS.has(key) || others?.includes(key)) return -1;
        (others ??= []).push(key);
        at = this.#skip(text, keyEnd + 2);
        if (at === -1) return -1;
        continue;
      }
      if ((seen & (1 << member)) !== 0) return -1;
      seen |= 1 << member;
      next = member + 1;
      at += TAIL_TEXT[member]!.length;
      switch (member) {
        case ARGS: {
          const entry = this.#flat(text, at, 0);
          if (entry === null || !entry.canonical) return -1;
          this.args = entry.value;
          break;
        }
        case AGENT: {
          const entry = this.#flat(text, at, 1);
          if (entry === null) return -1;
          this.agentAttributes = entry.value;
          break;
        }
        case RESOURCE: {
          const entry = this.#flat(text, at, 2);
          if (entry === null) return -1;
          this.resourceAttributes = entry.value;
          break;
        }
        case REMEMBERED: {
          const entry = this.#flat(text, at, 3);
          if (entry === null) return -1;
          this.rememberedApproval = entry.value;
          break;
        }
        case NOW: {
          const end = numberEnd(text, at);
          if (end === -1) return -1;
          const now = numberValue(text, at, end);
          if (!Number.isFinite(now)) return -1;
          this.now = now;
          at = end;
          continue;
        }
        case SESSION: {
          if (text.charCodeAt(at) !== 0x22) return -1;
          STRING_REST.lastIndex = at + 1;
          if (!STRING_REST.test(text)) return -1;
          const end = STRING_REST.lastIndex - 1;
          this.session = this.#session(text, at + 1, end);
          at = end + 1;
          continue;
        }
        case ARGS_SHA256:
        case ARGS_HMAC: {
          const end = this.#skip(text, at);
          if (end === -1) return -1;
          this.hashed = true;
          at = end;
          continue;
        }
      }
      at = this.#flats.end;
    }
    return at;
  }

  /** The flat object at `from`, compared first with the last one read into `slot`. */
  #flat(text: string, from: number, slot: number): FlatEntry | null {
    if (text.charCodeAt(from) !== 0x7b) return null;
    const entry = this.#flats.read(text, from, this.#lastFlat[slot]!);
    if (this.#flats.fresh) this.#learned = true;
    if (entry !== null) this.#lastFlat[slot] = entry;
    return entry;
  }

  /** Checks the scalar or flat object at `from`; where it ends, or -1. */
  #skip(text: string, from: number): number {
    const c = text.charCodeAt(from);
    if (c === 0x22) {
      STRING_REST.lastIndex = from + 1;
      return STRING_REST.test(text) ? STRING_REST.lastIndex : -1;
    }
    if (c === 0x7b) return this.#flat(text, from, OTHER_SLOT) === null ? -1 : this.#flats.end;
    if (c === 0x74) return holds(text, from, 'true') ? from + 4 : -1;
    if (c === 0x66) return holds(text, from, 'false') ? from + 5 : -1;
    if (c === 0x6e) return holds(text, from, 'null') ? from + 4 : -1;
    return numberEnd(text, from);
  }

  #lastSession = '';

  /** The checked session string from `from` to its closing quote at `end`: the last one when it repeats. */
  #session(text: string, from: number, end: number): string {
    const escaped = this.#slash.within(text, from, end);
    const last = this.#lastSession;
    if (!escaped && last.length === end - from && holds(text, from, last)) return last;
    const session = detached(stringValue(text, from, end, escaped));
    this.#lastSession = session;
    return session;
  }
}

/** Occurrences of `"` followed by JSON whitespace and `:`: every object key ends so. */
export function keyTokens(text: string): number {
  let n = 0;
  for (let at = text.indexOf(':'); at !== -1; at = text.indexOf(':', at + 1)) {
    let before = at - 1;
    let c = text.charCodeAt(before);
    while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = text.charCodeAt(--before);
    if (c === 0x22) n++;
  }
  return n;
}

/** Keys of every object in a parsed value (for-in: an enumerable inherited key counts too, and sends the line to the full scan). */
export function keysIn(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  let n = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) n += keysIn(value[i]);
    return n;
  }
  for (const key in value) n += 1 + keysIn((value as Record<string, unknown>)[key]);
  return n;
}

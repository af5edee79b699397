/**
 * One audit-log line read the quick way, for a replay: most of a record is long strings a replay
 * never reads (reason, policy hash, time), written by perso in one order, and its objects (args,
 * attributes) are mostly flat. Sticky regular expressions check the line in native passes: the
 * head (the keys perso writes first, in its order) and each member after it; values are then cut
 * out of the checked text, and `JSON.parse` runs only on strings that hold an escape.
 *
 * Checklist (a line the scan does not vouch for goes to the full reader, which has the last word):
 * - it vouches only for perso's compact form: no whitespace between tokens, the head's keys first
 *   and in order, then members whose values are strings, numbers, `true`, `false`, `null` or flat
 *   objects of those; keys without escapes;
 * - strings are JSON strings (no control character, valid escapes), so every value is the one
 *   `JSON.parse` gives for the whole line;
 * - keys are distinct at every depth, none of the head's keys comes again, and no key is
 *   `__proto__` (an own property for `JSON.parse`, a prototype for an assignment);
 * - nothing is decided here: the reader checks the values the same way on either path;
 * - per record it allocates little: the head is checked without captures and its values cut out by
 *   position (JSON.parse only for a string with an escape), and a flat object's value is kept by its text (frozen, shared by the records that
 *   repeat it: the reader and the engine only read it).
 */

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
const HEAD_KEY_SET: ReadonlySet<string> = new Set(HEAD_KEYS);
const NULLABLE: ReadonlySet<string> = new Set(['rule', 'policyVersion', 'policyHash']);

// A JSON string: runs of plain characters between valid escapes.
const STRING = String.raw`"[^"\\\u0000-\u001f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\u0000-\u001f]*)*"`;
const NUMBER = String.raw`-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?`;
const KEY = String.raw`"[^"\\\u0000-\u001f]*"`;
const SCALAR = `(?:${STRING}|${NUMBER}|true|false|null)`;
const FLAT = String.raw`\{(?:${KEY}:${SCALAR}(?:,${KEY}:${SCALAR})*)?\}`;
/** The head, checked: `test` it (no captures, no result array), then cut the values out by position. */
const HEAD = new RegExp(
  `\\{${HEAD_KEYS.map(
    (key) =>
      `"${key}":${key === 'enforced' ? '(?:true|false)' : NULLABLE.has(key) ? `(?:${STRING}|null)` : STRING}`,
  ).join(',')}`,
  'y',
);
/** The keys read from the head, in order (each a string), and the text before each value. */
const CAPTURED = HEAD_KEYS.filter((key) => key !== 'enforced' && !NULLABLE.has(key));
const BEFORE = CAPTURED.map((key, i) => `${i === 0 ? '{' : '",'}"${key}":"`);
/** The members perso writes after the head, in its order, then the end of the line. */
const TAIL = new RegExp(
  `(?:,"args":(${FLAT}))?(?:,"agentAttributes":(${FLAT}))?(?:,"resourceAttributes":(${FLAT}))?(?:,"now":(${NUMBER}))?(?:,"session":(${STRING}))?\\}$`,
  'y',
);
/** One member after the head: its key's text, then its value's. */
const MEMBER = new RegExp(`,(${KEY}):(${FLAT}|${SCALAR})`, 'y');

/** The fields a replay reads (absent ones undefined), in one shape whatever read the line. */
export class ScannedRecord {
  id: unknown = undefined;
  time: unknown = undefined;
  tool: unknown = undefined;
  role: unknown = undefined;
  decision: unknown = undefined;
  reason: unknown = undefined;
  kind: unknown = undefined;
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

/** Most flat-object texts remembered with their value; the memo is emptied when full. */
const MEMO_LIMIT = 1024;

/** Reads lines into one reused record. */
export class AuditLineScan {
  readonly #record = new ScannedRecord();
  readonly #head: string[] = CAPTURED.map(() => '');
  /**
   * Flat objects by their checked text: a log repeats its attribute objects (one agent, one
   * target) and often its args, and a frozen value read once is the same value every time.
   */
  readonly #memo = new Map<string, Readonly<Record<string, unknown>> | typeof FAIL>();
  /** Per member (args, agentAttributes, resourceAttributes): the last text read, and its value. */
  readonly #lastText: string[] = ['', '', ''];
  readonly #lastValue: (Readonly<Record<string, unknown>> | typeof FAIL)[] = [FAIL, FAIL, FAIL];

  /**
   * Reads `text` into the record (the same object every time), or null when the scan does not
   * vouch for the line (the full reader decides then). A field the line lacks is undefined.
   * Objects it reads are frozen and may be shared between records.
   */
  scan(text: string): ScannedRecord | null {
    HEAD.lastIndex = 0;
    if (!HEAD.test(text)) return null;
    const headEnd = HEAD.lastIndex;
    const record = this.#record;
    TAIL.lastIndex = headEnd;
    const tail = TAIL.exec(text);
    if (tail !== null) {
      const args = tail[1] === undefined ? undefined : this.#flat(tail[1], 0);
      const agent = tail[2] === undefined ? undefined : this.#flat(tail[2], 1);
      const resource = tail[3] === undefined ? undefined : this.#flat(tail[3], 2);
      if (args === FAIL || agent === FAIL || resource === FAIL) return null;
      record.args = args;
      record.agentAttributes = agent;
      record.resourceAttributes = resource;
      record.now = tail[4] === undefined ? undefined : Number(tail[4]);
      record.argsHmac = undefined;
      record.argsSha256 = undefined;
      record.session = tail[5] === undefined ? undefined : scalarOrFlat(tail[5]);
      record.rememberedApproval = undefined;
    } else if (!this.#members(text, headEnd)) return null;
    // Each value runs from after its key to its closing quote; only a string that holds an escape
    // (a backslash before that quote) is read with JSON.parse, once its real end is found.
    let slash = text.indexOf('\\');
    let at = 0;
    for (let i = 0; i < CAPTURED.length; i++) {
      at += BEFORE[i]!.length;
      let end = text.indexOf('"', at);
      if (slash !== -1 && slash < end) {
        end = stringEnd(text, at);
        this.#head[i] = JSON.parse(text.slice(at - 1, end + 1)) as string;
        slash = text.indexOf('\\', end);
      } else this.#head[i] = text.slice(at, end);
      at = end;
    }
    const values = this.#head;
    record.id = values[0];
    record.time = values[1];
    record.tool = values[2];
    record.role = values[3];
    record.decision = values[4];
    record.reason = values[5];
    record.kind = values[6];
    return record;
  }

  /** A checked flat object's value, from the memo when this text was read before. */
  #flat(text: string, member: number): Readonly<Record<string, unknown>> | typeof FAIL {
    // Consecutive records mostly share their attributes: one comparison, no hashing.
    if (text === this.#lastText[member]) return this.#lastValue[member]!;
    const memo = this.#memo;
    let value = memo.get(text);
    if (value === undefined) {
      const object = flatObject(text);
      value = object === FAIL ? FAIL : Object.freeze(object);
      if (memo.size >= MEMO_LIMIT) memo.clear();
      memo.set(text, value);
    }
    this.#lastText[member] = text;
    this.#lastValue[member] = value;
    return value;
  }

  /** Any other members after the head, one at a time; false when one is not vouched for. */
  #members(text: string, from: number): boolean {
    const record = this.#record;
    record.args = undefined;
    record.agentAttributes = undefined;
    record.resourceAttributes = undefined;
    record.now = undefined;
    record.argsHmac = undefined;
    record.argsSha256 = undefined;
    record.session = undefined;
    record.rememberedApproval = undefined;
    const seen: string[] = [];
    let at = from;
    const last = text.length - 1;
    while (at < last) {
      MEMBER.lastIndex = at;
      const member = MEMBER.exec(text);
      if (member === null) return false;
      const key = member[1]!.slice(1, -1);
      // A `type` says what the line is (a tool result's record): the full reader decides.
      if (HEAD_KEY_SET.has(key) || key === 'type' || seen.includes(key)) return false;
      seen.push(key);
      const raw = member[2]!;
      const slot = key === 'args' ? 0 : key === 'agentAttributes' ? 1 : 2;
      const value = raw.charCodeAt(0) === 0x7b ? this.#flat(raw, slot) : scalarOrFlat(raw);
      if (value === FAIL) return false;
      switch (key) {
        case 'args':
          record.args = value;
          break;
        case 'agentAttributes':
          record.agentAttributes = value;
          break;
        case 'resourceAttributes':
          record.resourceAttributes = value;
          break;
        case 'now':
          record.now = value;
          break;
        case 'argsHmac':
          record.argsHmac = value;
          break;
        case 'argsSha256':
          record.argsSha256 = value;
          break;
        case 'session':
          record.session = value;
          break;
        case 'rememberedApproval':
          record.rememberedApproval = value;
          break;
      }
      at = MEMBER.lastIndex;
    }
    return at === last && text.charCodeAt(last) === 0x7d;
  }
}

const FAIL = Symbol('not vouched for');

/** The value of a checked string, number, literal or flat object text; FAIL for a key it refuses. */
function scalarOrFlat(text: string): unknown {
  const c = text.charCodeAt(0);
  if (c === 0x22) return text.includes('\\') ? JSON.parse(text) : text.slice(1, -1);
  if (c === 0x7b) return flatObject(text);
  if (c === 0x74) return true;
  if (c === 0x66) return false;
  if (c === 0x6e) return null;
  return Number(text);
}

/** A checked flat object's text as an object; FAIL for a duplicated key or `__proto__`. */
function flatObject(text: string): Record<string, unknown> | typeof FAIL {
  const object: Record<string, unknown> = {};
  if (text.length === 2) return object;
  let at = 1;
  for (;;) {
    // Keys hold no escape, so the key ends at the next quote.
    const keyEnd = text.indexOf('"', at + 1);
    const key = text.slice(at + 1, keyEnd);
    if (key === '__proto__' || Object.hasOwn(object, key)) return FAIL;
    at = keyEnd + 2;
    const end = scalarEnd(text, at);
    object[key] = scalarOrFlat(text.slice(at, end));
    if (end === text.length - 1) return object;
    at = end + 1;
  }
}

/** The closing quote of the checked string whose text starts at `from` (after its opening quote). */
function stringEnd(text: string, from: number): number {
  let at = from;
  for (;;) {
    const quote = text.indexOf('"', at);
    // A quote after an odd run of backslashes is escaped.
    let slashes = 0;
    while (text.charCodeAt(quote - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return quote;
    at = quote + 1;
  }
}

/** Where the checked scalar starting at `from` ends. */
function scalarEnd(text: string, from: number): number {
  if (text.charCodeAt(from) !== 0x22) {
    let at = from;
    for (let c = text.charCodeAt(at); c !== 0x2c && c !== 0x7d; c = text.charCodeAt(++at));
    return at;
  }
  let at = from + 1;
  for (;;) {
    const quote = text.indexOf('"', at);
    // A quote after an odd run of backslashes is escaped.
    let slashes = 0;
    while (text.charCodeAt(quote - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return quote + 1;
    at = quote + 1;
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

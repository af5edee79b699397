/**
 * One audit-log line read as a recorded call to decide again (`perso replay`, `perso diff --log`).
 *
 * Checklist:
 * - a record is replayable only when it holds everything the decision used: its args in clear (not
 *   `argsHmac`, or `argsSha256` in older records) and a decision the policy made (not a fault:
 *   `invalid_request`, `no_policy`, `engine_fault`); the others are counted as not replayable, never guessed at;
 * - a fault is always a Deny: a record of another decision with a fault's kind is malformed (it
 *   would be skipped, and a call that ran would vouch for any policy);
 * - a line two JSON readers could read differently (a duplicated key) is refused, and so are args
 *   perso could not have recorded (`__proto__`, `constructor`, `prototype` keys, non-finite numbers);
 * - a line in perso's own compact form is read by the scan (audit-line-scan.ts), any other by
 *   `JSON.parse` of the whole line; both give the same values, and the same checks follow, so the
 *   outcome and its error text do not depend on which read it (a test holds them together);
 * - an Ask a person approved (recorded as an Allow of kind `ask_by_rule` without
 *   `rememberedApproval`) carries the Ask the person saw: the recorded `rule` and the kind of
 *   approval its reason names (a verified authenticator, else a click), which a replay checks as
 *   the approval ledger checks a ticket;
 * - one call object is filled again for each record (decide it before reading the next), and the
 *   checks that make copies or walk the text char by char run only when a cheap check cannot vouch
 *   for the line.
 */
import { canonicalizeArgs, FORBIDDEN_KEYS } from '../call/canonical-args.ts';
import type { Decision, JsonObject, ToolCall } from '../call/decision.ts';
import { findDuplicateKey } from './duplicate-key.ts';
import { errorText, quote } from '../encoding/text.ts';
import { WEBAUTHN_APPROVED_SUFFIX } from '../backend/approval-ledger.ts';
import { AuditLineScan, ScannedRecord, keyTokens, keysIn } from './audit-line-scan.ts';

/** Why a record cannot be replayed. */
export const NotReplayable = Object.freeze({
  /** The host chose `hashArgs`: only the args' SHA-256 was recorded. */
  ArgsHashed: 'args hashed',
  /** Neither args nor their hash: the call's args could not be read as JSON. */
  NoArgs: 'no args',
  /** The decision came from a fault (bad request, no policy, engine fault), not from the policy. */
  Fault: 'fault',
} as const);
/** Why a record cannot be replayed; see {@link NotReplayable}. */
export type NotReplayable = (typeof NotReplayable)[keyof typeof NotReplayable];

/** What {@link AuditRecordReader.read} found. */
export const ReadOutcome = Object.freeze({ Record: 0, Skip: 1, Error: 2, Result: 3 } as const);
/** What {@link AuditRecordReader.read} found; see {@link ReadOutcome}. */
export type ReadOutcome = (typeof ReadOutcome)[keyof typeof ReadOutcome];

const DECISIONS: ReadonlySet<string> = new Set(['Allow', 'Deny', 'Ask']);
const FAULT_KINDS: ReadonlySet<string> = new Set(['invalid_request', 'no_policy', 'engine_fault']);

/** The recorded call, reused from record to record. */
interface MutableCall {
  tool: string;
  role: string;
  args: unknown;
  agentAttributes: JsonObject | undefined;
  resourceAttributes: JsonObject | undefined;
  now: number | undefined;
  session: string | undefined;
}

/** A tool result's record (audit-record.ts `ToolResultAuditRecord`), as read. */
export interface RecordedResult {
  tool: string;
  role: string | undefined;
  session: string | undefined;
  /** The host marked it untrusted itself. */
  hint: boolean;
  /** The result's value; undefined when withheld. */
  value: unknown;
  /** Why the value is not in the record, or undefined. */
  withheld: string | undefined;
}

/** The Ask a person approved, as its record tells it: what the approval ledger bound it to. */
export interface RecordedApproval {
  /** The rule the Ask was by (the record's `rule`), or null when the record names none. */
  readonly rule: string | null;
  /** `webauthn` when the reason says a verified authenticator approved it, else `click`. */
  readonly kind: 'click' | 'webauthn';
}

/** Reads audit records one line at a time into one reused call. */
export class AuditRecordReader {
  /** After `Record`: the call to decide (the same object every time; its fields change). */
  readonly call: MutableCall = {
    tool: '',
    role: '',
    args: undefined,
    agentAttributes: undefined,
    resourceAttributes: undefined,
    now: undefined,
    session: undefined,
  };
  /** After `Result`: the tool result (a new object each time). */
  result: RecordedResult | null = null;
  /** After `Record`: the record's id, or null. */
  id: string | null = null;
  /** After `Record`: the recorded decision (an Ask a person approved counts as Ask). */
  from: Decision = 'Deny';
  /** After `Record`: the recorded Ask was approved by a person (it ran, and spent what it spent). */
  approved = false;
  /** After `Record`: the Ask the person approved when {@link approved}, else null. */
  approval: RecordedApproval | null = null;
  /** After `Record`: the recorded Allow rested on a remembered approval (no person was asked). */
  remembered = false;
  /** After `Record`: the recorded reason. */
  reason = '';
  /** After `Skip`: why. */
  skip: NotReplayable = NotReplayable.Fault;
  /** After `Error`: why the line is not an audit record. */
  error = '';
  readonly #fast: boolean;
  readonly #scan = new AuditLineScan();
  /** The record a parsed line's fields are copied into, so the checks read one shape. */
  readonly #parsed = new ScannedRecord();
  /** The date part (`2026-12-03T`) of the last `time` Date.parse accepted. */
  #day = '';

  /** @param options `fast: false` parses every line whole and checks every `time` with Date.parse (the reference the shortcuts are tested against) */
  constructor(options: { fast?: boolean } = {}) {
    this.#fast = options.fast !== false;
  }

  /** The call as the engine takes it. */
  get toolCall(): ToolCall {
    return this.call as unknown as ToolCall;
  }

  /** Reads one line (not blank). */
  read(text: string): ReadOutcome {
    return this.readAt(text, 0, text.length);
  }

  /**
   * Reads the line of `text` (a block of lines) from `start` to `end`, not blank and without its
   * line break. Lines of one block are read fastest in order.
   */
  readAt(text: string, start: number, end: number): ReadOutcome {
    // The scan reads what JSON.parse would for the fields it keeps, or declines the line.
    const scan = this.#scan;
    if (this.#fast && scan.scanAt(text, start, end)) {
      const outcome = this.#checkScanned(scan);
      if (outcome !== null) return outcome;
    }
    return this.#parse(start === 0 && end === text.length ? text : text.slice(start, end));
  }

  /** Reads a line with JSON.parse, then checks it. */
  #parse(text: string): ReadOutcome {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return this.#fail(`invalid JSON (${errorText(error)})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      return this.#fail('expected a JSON object (one audit record per line)');
    // Each key token in the text is one key JSON.parse kept, or a key was given twice. Text counts
    // can only come out high (a `":` inside a string); any difference sends the line to the full scan.
    if (keyTokens(text) !== keysIn(value)) {
      const duplicate = findDuplicateKey(text, 'record');
      if (duplicate !== null) return this.#fail(`${duplicate}: duplicate key`);
    }
    if (Object.hasOwn(value, 'type')) return this.#result(value as Record<string, unknown>);
    return this.#check(this.#parsed.fill(value as Record<string, unknown>));
  }

  /**
   * {@link #check} on a line the scan vouched for: the scan took only values of the types the
   * checks want (audit-line-scan.ts), so the time is the one check left. Null when the time
   * does not pass: the full reader then says why.
   */
  #checkScanned(scan: AuditLineScan): ReadOutcome | null {
    const head = scan.head!;
    const now = scan.now;
    let timeSeconds: number | undefined;
    if (now === undefined || !this.#sameDay(scan)) {
      timeSeconds = this.#seconds(scan.time(), now === undefined);
      if (Number.isNaN(timeSeconds)) return null;
    }
    if (head.fault) return this.#skip(NotReplayable.Fault);
    const args = scan.args;
    if (args === undefined)
      return this.#skip(scan.hashed ? NotReplayable.ArgsHashed : NotReplayable.NoArgs);
    const call = this.call;
    call.tool = head.tool;
    call.role = head.role;
    call.args = args;
    call.agentAttributes = scan.agentAttributes as JsonObject | undefined;
    call.resourceAttributes = scan.resourceAttributes as JsonObject | undefined;
    call.now = now ?? timeSeconds;
    call.session = scan.session;
    this.id = scan.id();
    this.remembered = scan.rememberedApproval !== undefined;
    this.approved = head.decision === 'Allow' && head.kind === 'ask_by_rule' && !this.remembered;
    this.approval = this.approved ? recordedApproval(head.rule, head.reason) : null;
    this.from = this.approved ? 'Ask' : head.decision;
    this.reason = head.reason;
    return ReadOutcome.Record;
  }

  /** The scanned time is on the day Date.parse accepted last, at a clock in range (see {@link #seconds}). */
  #sameDay(scan: AuditLineScan): boolean {
    if (this.#day === '' || !scan.timeIs(this.#day, 24)) return false;
    // `HH:MM:SS.mmmZ` after the day: hours 00-23, minutes and seconds 00-59.
    const h = scan.timeCharCode(11);
    const hh = scan.timeCharCode(12);
    if (!(h === 0x30 || h === 0x31 ? isDigit(hh) : h === 0x32 && hh >= 0x30 && hh <= 0x33))
      return false;
    return (
      scan.timeCharCode(13) === 0x3a &&
      isSixty(scan.timeCharCode(14)) &&
      isDigit(scan.timeCharCode(15)) &&
      scan.timeCharCode(16) === 0x3a &&
      isSixty(scan.timeCharCode(17)) &&
      isDigit(scan.timeCharCode(18)) &&
      scan.timeCharCode(19) === 0x2e &&
      isDigit(scan.timeCharCode(20)) &&
      isDigit(scan.timeCharCode(21)) &&
      isDigit(scan.timeCharCode(22)) &&
      scan.timeCharCode(23) === 0x5a
    );
  }

  /** The record's checks, on the scanned record or the parsed one (absent fields undefined). */
  #check(record: ScannedRecord): ReadOutcome {
    const { tool, role, decision, reason, kind, rule } = record;
    if (typeof tool !== 'string') return this.#fail('tool: expected a string');
    if (typeof role !== 'string') return this.#fail('role: expected a string');
    if (typeof reason !== 'string') return this.#fail('reason: expected a string');
    if (typeof kind !== 'string') return this.#fail('kind: expected a string');
    if (typeof decision !== 'string' || !DECISIONS.has(decision))
      return this.#fail('decision: expected "Allow", "Deny" or "Ask"');
    // A fault is always a Deny: an Allow or Ask "decided by a fault" would be skipped as not
    // replayable, so a call that ran would vouch for any policy.
    if (decision !== 'Deny' && FAULT_KINDS.has(kind))
      return this.#fail(
        `kind: ${quote(kind)} is a fault, which is always a Deny, not ${quote(decision)}`,
      );
    if (rule !== undefined && rule !== null && typeof rule !== 'string')
      return this.#fail('rule: expected a string or null');
    const id = record.id;
    if (id !== undefined && typeof id !== 'string') return this.#fail('id: expected a string');
    const now = record.now;
    if (now !== undefined && (typeof now !== 'number' || !Number.isFinite(now)))
      return this.#fail('now: expected seconds since the epoch as a number');
    const time = record.time;
    let timeSeconds: number | undefined;
    if (time !== undefined) {
      timeSeconds = typeof time === 'string' ? this.#seconds(time, now === undefined) : Number.NaN;
      if (Number.isNaN(timeSeconds)) return this.#fail('time: expected an ISO 8601 date');
    }
    const agentAttributes = record.agentAttributes;
    if (agentAttributes !== undefined && !isObject(agentAttributes))
      return this.#fail('agentAttributes: expected a JSON object');
    const resourceAttributes = record.resourceAttributes;
    if (resourceAttributes !== undefined && !isObject(resourceAttributes))
      return this.#fail('resourceAttributes: expected a JSON object');

    const session = record.session;
    if (session !== undefined && typeof session !== 'string')
      return this.#fail('session: expected a string');
    const remembered = record.rememberedApproval;
    if (remembered !== undefined && !isObject(remembered))
      return this.#fail('rememberedApproval: expected a JSON object');

    if (FAULT_KINDS.has(kind)) return this.#skip(NotReplayable.Fault);
    const args = record.args;
    if (args === undefined)
      return this.#skip(
        record.argsHmac !== undefined || record.argsSha256 !== undefined
          ? NotReplayable.ArgsHashed
          : NotReplayable.NoArgs,
      );
    // Recorded args were canonical: ones that are not (a "__proto__" key...) did not come from perso.
    if (!isObject(args) || !parsedIsCanonical(args)) {
      const canonical = canonicalizeArgs(args);
      if (!canonical.ok) return this.#fail(canonical.error);
    }

    const call = this.call;
    call.tool = tool;
    call.role = role;
    call.args = args;
    call.agentAttributes = agentAttributes as JsonObject | undefined;
    call.resourceAttributes = resourceAttributes as JsonObject | undefined;
    // Older records lack `now`: the time the record was made is within a moment of it.
    call.now = (now as number | undefined) ?? timeSeconds;
    call.session = session as string | undefined;
    this.id = (id as string | undefined) ?? null;
    // An Ask a person approved was recorded as Allow: the policy itself said Ask. An Allow that
    // rested on a remembered approval asked no one: it stays an Allow.
    this.remembered = remembered !== undefined;
    this.approved = decision === 'Allow' && kind === 'ask_by_rule' && !this.remembered;
    this.approval = this.approved ? recordedApproval(rule ?? null, reason) : null;
    this.from = this.approved ? 'Ask' : (decision as Decision);
    this.reason = reason;
    return ReadOutcome.Record;
  }

  /**
   * `time` in seconds as Date.parse reads it (NaN when it does not), or, when the value is not
   * `needed` (the record has `now`), 0 once it is known to parse: a `YYYY-MM-DDTHH:MM:SS.mmmZ` time
   * on a day Date.parse already accepted parses whenever its clock is in range.
   */
  #seconds(time: string, needed: boolean): number {
    if (
      !needed &&
      this.#fast &&
      this.#day !== '' &&
      time.length === 24 &&
      time.startsWith(this.#day) &&
      clockInRange(time)
    )
      return 0;
    const ms = Date.parse(time);
    if (!Number.isNaN(ms) && time.length === 24 && clockInRange(time))
      this.#day = time.slice(0, 11);
    return ms / 1000;
  }

  /** A line with a `type`: a tool result's record, or not an audit record. */
  #result(record: Record<string, unknown>): ReadOutcome {
    const get = (key: string): unknown => (Object.hasOwn(record, key) ? record[key] : undefined);
    if (get('type') !== 'toolResult') return this.#fail('type: expected "toolResult" or no type');
    const tool = get('tool');
    const role = get('role');
    const session = get('session');
    const hint = get('hint');
    const value = get('result');
    const withheld = get('withheld');
    if (typeof tool !== 'string' || tool === '') return this.#fail('tool: expected a string');
    if (role !== undefined && typeof role !== 'string')
      return this.#fail('role: expected a string');
    if (session !== undefined && typeof session !== 'string')
      return this.#fail('session: expected a string');
    if (hint !== undefined && hint !== true) return this.#fail('hint: expected true');
    if (withheld !== undefined && withheld !== 'hashArgs' && withheld !== 'too large')
      return this.#fail('withheld: expected "hashArgs" or "too large"');
    if ((value === undefined) === (withheld === undefined))
      return this.#fail('result: expected either a result or why it is withheld');
    const time = get('time');
    if (time !== undefined && (typeof time !== 'string' || Number.isNaN(Date.parse(time))))
      return this.#fail('time: expected an ISO 8601 date');
    const id = get('id');
    if (id !== undefined && typeof id !== 'string') return this.#fail('id: expected a string');
    this.id = (id as string | undefined) ?? null;
    this.result = {
      tool,
      role: role as string | undefined,
      session: session as string | undefined,
      hint: hint === true,
      value,
      withheld: withheld as string | undefined,
    };
    return ReadOutcome.Result;
  }

  #fail(error: string): ReadOutcome {
    this.error = error;
    return ReadOutcome.Error;
  }

  #skip(why: NotReplayable): ReadOutcome {
    this.skip = why;
    return ReadOutcome.Skip;
  }
}

/**
 * The Ask a recorded approval released: its rule, and its kind from the reason (the ledger appends
 * a suffix saying how the person approved; one ending otherwise was a click).
 */
function recordedApproval(rule: string | null, reason: string): RecordedApproval {
  return { rule, kind: reason.endsWith(WEBAUTHN_APPROVED_SUFFIX) ? 'webauthn' : 'click' };
}

/** `YYYY-MM-DDTHH:MM:SS.mmmZ` with hours 00-23, minutes and seconds 00-59 (the date is Date.parse's to check). */
function clockInRange(time: string): boolean {
  return CLOCK.test(time);
}
const CLOCK = /^\d{4}-\d\d-\d\dT([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** A first digit of minutes or seconds: 0-5. */
function isSixty(c: number): boolean {
  return c >= 0x30 && c <= 0x35;
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * True when a value `JSON.parse` made is already what {@link canonicalizeArgs} would copy: no
 * forbidden key and no non-finite number (`1e999` parses as Infinity) anywhere.
 */
function parsedIsCanonical(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!parsedIsCanonical(value[i])) return false;
    return true;
  }
  for (const key in value) {
    if (FORBIDDEN_KEYS.has(key) || !Object.hasOwn(value, key)) return false;
    if (!parsedIsCanonical((value as Record<string, unknown>)[key])) return false;
  }
  return true;
}

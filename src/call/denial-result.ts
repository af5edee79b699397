/**
 * Denials that teach the model: a Deny (or an unanswered Ask) becomes a normal MCP tool result.
 *
 * An agent that gets an exception retries, rephrases, or gives up without knowing why. An agent that
 * gets a tool result saying which tool was refused, which values failed, that the same call will be
 * refused again and what the policy would accept instead can change course. Every host (the
 * `<perso-guard>` element, the WebMCP embed, the MCP server adapter) answers with this one shape.
 *
 * Checklist for the text:
 * - names the tool and says it was not run;
 * - gives the reason (the engine's, which already quotes the values that failed);
 * - says whether the same call will be refused again;
 * - says what would be allowed instead when the failed leaf tells (`failure`), never guesses;
 * - quotes and truncates everything that came from the request: it is attacker-controlled; its
 *   line breaks and quotes are escaped, so it cannot start a line that looks like perso's own.
 */
import type {
  ConditionFailure,
  Decision,
  DecisionResult,
  JsonValue,
  ReasonKind,
} from './decision.ts';
import { escapeControls, quoteName, truncate } from '../encoding/text.ts';

/** The condition leaf that failed, as the engine reports it (`Verdict.failure`): {@link ConditionFailure}. */
export type DecisionFailure = ConditionFailure;

/** What {@link denialResult} needs of a decision: a `DecisionResult`, plus `failure` when known. */
export type DeniedDecision = Pick<DecisionResult, 'decision' | 'reason' | 'kind'> & {
  rule?: string | undefined;
  retryAfter?: number | undefined;
  failure?: DecisionFailure | undefined;
};

/** The call that was refused: the tool, its arguments and, when the host knows it, the role. */
export interface DeniedCall {
  /** The tool's name. */
  tool: string;
  /** The arguments the agent sent (only used to say which were involved). */
  args?: unknown;
  /** The principal's role, used in "role 'agent' may call ..." suggestions. */
  role?: string;
}

/** The machine-readable half of a denial, in `structuredContent`. */
export type DenialContent = {
  /** `Deny`, or `Ask` when a person's approval was needed and not given. */
  decision: Decision;
  /** The decision's reason, verbatim. */
  reason: string;
  /** The deciding rule, or `null` when no rule matched. */
  rule: string | null;
};

/**
 * An MCP `CallToolResult` that reports a refused call. A type alias rather than an interface so
 * it is assignable to the MCP SDK's indexable `CallToolResult`.
 */
export type DenialResult = {
  /** One text block for the model. */
  content: [{ type: 'text'; text: string }];
  /** Always true: the tool did not run. */
  isError: true;
  /** The decision, reason and rule for programs. */
  structuredContent: DenialContent;
};

/**
 * The `_meta` key that carries a denial's decision for a tool that declares an `outputSchema`
 * (MCP's `_meta` naming: a prefix, a slash, a name).
 */
export const DENIAL_META_KEY = 'perso/decision';

/**
 * A denial for a tool that declares an `outputSchema`: the decision rides in `_meta` instead of
 * `structuredContent`, which clients validate against the tool's schema even when `isError` is
 * true (the TypeScript SDK's client does), turning the denial into a protocol error.
 */
export type MetaDenialResult = {
  /** One text block for the model. */
  content: [{ type: 'text'; text: string }];
  /** Always true: the tool did not run. */
  isError: true;
  /** The decision, reason and rule for programs, under {@link DENIAL_META_KEY}. */
  _meta: { [DENIAL_META_KEY]: DenialContent };
};

/**
 * The same denial for a tool that declares an `outputSchema`: `structuredContent` moved to
 * `_meta[DENIAL_META_KEY]`.
 *
 * @param denial a result of {@link denialResult}
 */
export function denialForOutputSchema(denial: DenialResult): MetaDenialResult {
  return {
    content: denial.content,
    isError: true,
    _meta: { [DENIAL_META_KEY]: denial.structuredContent },
  };
}

/** Longest request-supplied value quoted in a text; longer ones are cut with an ellipsis. */
const MAX_QUOTED = 64;

/**
 * Turns a Deny (or Ask) decision into the tool result the agent sees.
 *
 * @param decision the decision for the call; `failure` (the engine's failed leaf) makes the text
 *   say what the policy would allow instead
 * @param call the call that was refused
 * @returns `{ content: [{ type: 'text', text }], isError: true, structuredContent }`
 */
export function denialResult(decision: DeniedDecision, call: DeniedCall): DenialResult {
  const lines = decision.decision === 'Ask' ? askLines(decision, call) : denyLines(decision, call);
  return {
    content: [{ type: 'text', text: lines.join('\n') }],
    isError: true,
    structuredContent: {
      decision: decision.decision,
      reason: decision.reason,
      rule: decision.rule ?? null,
    },
  };
}

/**
 * Whether a tool result is a denial perso made: `isError: true` with a Deny or Ask decision and
 * its reason in `structuredContent`. Narrows `<perso-guard>`'s `call()` result (`R | DenialResult`).
 */
export function isDenialResult(result: unknown): result is DenialResult {
  if (result === null || typeof result !== 'object') return false;
  const { isError, structuredContent } = result as Partial<Record<keyof DenialResult, unknown>>;
  if (isError !== true || structuredContent === null || typeof structuredContent !== 'object')
    return false;
  const { decision, reason } = structuredContent as Partial<Record<keyof DenialContent, unknown>>;
  return (decision === 'Deny' || decision === 'Ask') && typeof reason === 'string';
}

/**
 * Says what the policy would allow instead, from the failed leaf, or `null` when it cannot tell
 * (an unknown op, or a fact the host owns rather than an argument the model chooses).
 *
 * @param failure the failed leaf
 * @param call the refused call (tool and role)
 */
export function allowedInstead(failure: DecisionFailure, call: DeniedCall): string | null {
  const dot = failure.path.indexOf('.');
  const source = dot < 0 ? failure.path : failure.path.slice(0, dot);
  const field = dot < 0 ? failure.path : failure.path.slice(dot + 1);
  if (source !== 'Arguments') return null;
  const bound = describeBound(failure.op, failure.expected);
  if (bound === null) return null;
  const who = call.role === undefined ? 'calls to' : `role ${quote(call.role)} may call`;
  return `${who} ${quote(call.tool)} with ${field} ${bound}`;
}

function denyLines(decision: DeniedDecision, call: DeniedCall): string[] {
  const tool = quote(call.tool);
  const lines = [
    `denied: tool ${tool} was not run`,
    `why: ${oneLine(decision.reason)}${ruleNote(decision)}`,
  ];
  const kind: ReasonKind = decision.kind;
  switch (kind) {
    case 'rate_limited':
    case 'budget_exceeded': {
      const wait =
        decision.retryAfter === undefined
          ? 'the window resets'
          : `${decision.retryAfter} s have passed`;
      lines.push(`the same call will be denied again until ${wait}; do not retry before then`);
      break;
    }
    case 'no_policy':
      lines.push(
        'every call is denied until the page loads a valid policy; retrying will not help, tell the user',
      );
      break;
    case 'engine_fault':
      lines.push(
        'the guard failed and denied the call to stay safe; you may retry once, then tell the user',
      );
      break;
    case 'budget_unknown':
      lines.push(
        'the same call will be denied again; pass the field the budget counts, as the reason says',
      );
      break;
    case 'invalid_request':
      lines.push('the same call will be denied again; send the arguments as a plain JSON object');
      break;
    case 'no_rule':
      lines.push('the same call will be denied again: no rule allows this tool for your role');
      lines.push('use another tool or ask the user to do this');
      break;
    case 'denied_by_rule':
    case 'condition_failed':
    case 'ask_by_rule':
    case 'no_condition':
    case 'condition_passed':
      lines.push('the same call will be denied again; do not retry it unchanged');
      lines.push(insteadLine(decision, call));
      break;
    default: {
      const unknownKind: never = kind;
      lines.push(`the same call will be denied again (${String(unknownKind)})`);
    }
  }
  return lines;
}

function askLines(decision: DeniedDecision, call: DeniedCall): string[] {
  return [
    `approval required: tool ${quote(call.tool)} was not run`,
    `why: ${oneLine(decision.reason)}${ruleNote(decision)}`,
    'a person must approve this exact call before it runs, and no approval was given',
    'the same call needs approval again; ask the user to approve it, and do not change the arguments to avoid approval',
  ];
}

function insteadLine(decision: DeniedDecision, call: DeniedCall): string {
  const failure = decision.failure;
  if (failure === undefined)
    return 'the policy does not say what would be allowed instead; ask the user';
  const instead = allowedInstead(failure, call);
  if (instead !== null) return `allowed instead: ${instead}`;
  if (!failure.path.startsWith('Arguments')) {
    return `this depends on ${failure.path}, which the host sets and you cannot change; ask the user`;
  }
  return 'the policy does not say what would be allowed instead; ask the user';
}

function ruleNote(decision: DeniedDecision): string {
  return decision.rule === undefined ? '' : ` (rule ${quote(decision.rule)})`;
}

function describeBound(op: string, expected: JsonValue | undefined): string | null {
  if (expected === undefined) return op === 'FieldPresent' ? 'set' : null;
  switch (op) {
    case 'Lte':
      return `at most ${show(expected)}`;
    case 'Lt':
      return `below ${show(expected)}`;
    case 'Gte':
      return `at least ${show(expected)}`;
    case 'Gt':
      return `above ${show(expected)}`;
    case 'Eq':
    case 'Equals':
      return `equal to ${show(expected)}`;
    case 'In':
      return `one of ${showList(expected)}`;
    case 'NotIn':
      return `none of ${showList(expected)}`;
    case 'Prefix':
      return `starting with one of ${showList(expected)}`;
    case 'Suffix':
      return `ending with one of ${showList(expected)}`;
    default:
      return null;
  }
}

function showList(value: JsonValue): string {
  if (!Array.isArray(value)) return show(value);
  const shown = value.slice(0, 8).map(show).join(', ');
  return value.length > 8 ? `${shown}, ...` : shown;
}

function show(value: JsonValue): string {
  return typeof value === 'number' || typeof value === 'boolean' || value === null
    ? String(value)
    : truncate(JSON.stringify(value), MAX_QUOTED);
}

// Line breaks (and other controls) in a request-supplied value would start lines that look like
// perso's own ("allowed instead: ..."); quotes in it would close the quoting early.
function oneLine(text: string): string {
  return escapeControls(String(text));
}

function quote(text: string): string {
  return quoteName(String(text), MAX_QUOTED);
}

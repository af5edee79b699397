/**
 * The evaluation plan: what the engine reports about a loaded policy (`plan`), held by the host as
 * maps it can decide from without asking the engine: the field slots, the rules, the condition
 * leaves and the (tool, role) entries.
 *
 * Checklist:
 * - entry i of the plan is entry i of the engine (the index passed to `decide`);
 * - every field, leaf and budget index the plan names exists, or the load fails;
 * - a field's slot is REGION_HEADER + SLOT_SIZE × its index (engine-boundary.ts).
 */
import type { JsonValue } from '../call/decision.ts';
import type { PolicyInfo, Verdict } from './types.ts';
import { REGION_HEADER, SLOT_SIZE, SOURCE_NAMES } from './engine-boundary.ts';

/** Source codes by name. */
const SOURCES: ReadonlyMap<string, number> = new Map(
  SOURCE_NAMES.map((name, code) => [name, code]),
);

/** A field the policy reads: where its slot is and where its value comes from. */
export interface FieldPlan {
  /** `Arguments.amount`: the source and the key path. */
  readonly name: string;
  /** Byte offset of the field's slot from the region start. */
  readonly slot: number;
  readonly source: number;
  readonly path: readonly string[];
}

/** A condition leaf, for the failure record of a decision it explains. */
export interface LeafPlan {
  readonly field: FieldPlan;
  readonly fieldB: FieldPlan | null;
  readonly op: string;
  readonly expected?: JsonValue;
}

/** A (tool, role) entry: the fields its rules read and the verdicts it always gives. */
export interface EntryPlan {
  readonly index: number;
  readonly tool: string;
  readonly role: string;
  readonly fields: readonly FieldPlan[];
  /** How many counted calls the engine keeps for this pair (its rate limit's max); 0: none counted. */
  readonly keep: number;
  /** The budget's counted field and its `per` field (engine/assembly/budget.ts), when it has one. */
  readonly budget: readonly [FieldPlan, FieldPlan | null] | null;
  /** Constant verdicts by packed code (no detail to render). */
  readonly verdicts: Map<number, Verdict>;
}

/** Everything the host keeps about the loaded policy. */
export interface LoadedState {
  readonly info: PolicyInfo;
  readonly entries: Map<string, Map<string, EntryPlan>>;
  readonly ruleNames: readonly string[];
  /** Indexes of the Ask rules only a WebAuthn assertion releases. */
  readonly webauthnRules: ReadonlySet<number>;
  readonly leaves: readonly LeafPlan[];
  readonly dataStart: number;
  /** Verdicts with detail by the engine's memo id. */
  readonly memo: Map<number, Verdict>;
  /** A rule reads untrusted content: decisions depend on the call's session. */
  readonly taint: boolean;
}

/** The engine's `plan` reply (engine/assembly/plan.ts). */
export interface PlanJson {
  dataStart: number;
  fields: { source: string; path: string[] }[];
  rules: string[];
  webauthn?: number[];
  taint?: boolean;
  leaves: { field: number; fieldB: number; op: string; expected?: JsonValue }[];
  entries: {
    tool: string;
    role: string;
    fields: number[];
    budget?: [number, number];
  }[];
}

/** The host's state for a policy from the engine's plan; `keepOf` asks how many calls an entry counts. */
export function buildState(
  info: PolicyInfo,
  plan: PlanJson,
  keepOf: (entry: number) => number,
): LoadedState {
  const fields: FieldPlan[] = plan.fields.map((f, i) => {
    const source = SOURCES.get(f.source);
    if (source === undefined) throw new Error(`engine plan names an unknown source "${f.source}"`);
    return Object.freeze({
      name: `${f.source}.${f.path.join('.')}`,
      slot: REGION_HEADER + i * SLOT_SIZE,
      source,
      path: Object.freeze([...f.path]),
    });
  });
  const entries = new Map<string, Map<string, EntryPlan>>();
  const field = (id: number): FieldPlan => {
    const f = fields[id];
    if (f === undefined) throw new Error(`engine plan names an unknown field ${id}`);
    return f;
  };
  plan.entries.forEach((e, index) => {
    let roles = entries.get(e.tool);
    if (roles === undefined) entries.set(e.tool, (roles = new Map()));
    roles.set(e.role, {
      index,
      tool: e.tool,
      role: e.role,
      fields: e.fields.map(field),
      keep: Math.max(0, keepOf(index)),
      budget:
        e.budget === undefined
          ? null
          : [field(e.budget[0]), e.budget[1] < 0 ? null : field(e.budget[1])],
      verdicts: new Map(),
    });
  });
  const leaves: LeafPlan[] = plan.leaves.map((l) => {
    const leaf: { field: FieldPlan; fieldB: FieldPlan | null; op: string; expected?: JsonValue } = {
      field: field(l.field),
      fieldB: l.fieldB >= 0 ? field(l.fieldB) : null,
      op: l.op,
    };
    if (l.expected !== undefined) leaf.expected = l.expected;
    return Object.freeze(leaf);
  });
  const webauthnRules = new Set(plan.webauthn ?? []);
  return {
    info,
    entries,
    ruleNames: Object.freeze([...plan.rules]),
    webauthnRules,
    leaves,
    dataStart: plan.dataStart,
    memo: new Map(),
    taint: plan.taint === true,
  };
}

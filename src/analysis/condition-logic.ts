/**
 * Conditions as logic, for `perso diff` and `perso lint`: a normal form, a printed form, and a
 * sound (never wrong, sometimes unsure) check that one condition's true (or false) calls are all
 * true (or false) for another.
 *
 * Conditions are three-valued (docs/policy.md, "Conditions"): a call makes one true, false or unknown. A grant needs
 * *true*; a Deny or Ask rule holds unless its condition is *false*. So we reason about two sets per
 * condition, T(c) and F(c), and `implies(a, b, true)` answers T(a) ⊆ T(b), `implies(a, b, false)`
 * F(a) ⊆ F(b).
 *
 * Checklist (soundness):
 * - `implies` answers true only with a proof; false means "not shown", never "shown otherwise";
 * - `Not` is pushed to the leaves only where Kleene logic keeps all three values
 *   (De Morgan; Not(Not x) = x; Not(x Lte v) = x Gt v; Not(In S) = NotIn S);
 * - `Eq` compares within f64 EPSILON in the engine: its true set is taken as [v - ε, v + ε];
 * - a node we do not know (a variant added later) is only ever equal to itself.
 */
import type { JsonValue } from '../call/decision.ts';
import { canonicalJson } from '../call/canonical-json.ts';

/** A condition as JSON (validated by the engine before it gets here); `null` is "always". */
export type ConditionJson = Readonly<Record<string, unknown>> | null;

/** A condition in normal form. */
export type Node =
  | { kind: 'All' | 'Any'; children: Node[] }
  | { kind: 'Not'; child: Node }
  | { kind: 'Numeric'; field: string; op: string; value: number }
  | { kind: 'String'; field: string; op: string; value: string[] }
  | { kind: 'Present'; field: string }
  | { kind: 'FieldEquals'; a: string; b: string }
  | { kind: 'Equals'; field: string; value: JsonValue }
  | { kind: 'Other'; key: string };

const TRUE: Node = { kind: 'All', children: [] };
const NEGATED_NUMERIC: Readonly<Record<string, string>> = {
  Lte: 'Gt',
  Gt: 'Lte',
  Lt: 'Gte',
  Gte: 'Lt',
};

/** `Source.key.key`, the way reasons name a field (`Arguments.amount`). */
function fieldName(source: unknown, field: unknown): string {
  const path = Array.isArray(field) ? field : [field];
  return `${String(source)}.${path.map(String).join('.')}`;
}

/** The normal form of a condition (`null`: always true). */
export function normalize(condition: ConditionJson | undefined): Node {
  if (condition === null || condition === undefined) return TRUE;
  return normalizeNode(condition, false);
}

function normalizeNode(c: Readonly<Record<string, unknown>>, negate: boolean): Node {
  const [variant] = Object.keys(c);
  const body = c[variant!] as Record<string, unknown> & unknown[];
  switch (variant) {
    case 'All':
    case 'Any': {
      const children = (body as unknown as Record<string, unknown>[]).map((child) =>
        normalizeNode(child, negate),
      );
      const kind = (variant === 'All') !== negate ? 'All' : 'Any';
      return children.length === 1 ? children[0]! : { kind, children };
    }
    case 'Not':
      return normalizeNode(body, !negate);
    case 'NumericCheck': {
      const node: Node = {
        kind: 'Numeric',
        field: fieldName(body['source'], body['field']),
        op: String(body['op']),
        value: Number(body['value']),
      };
      if (!negate) return node;
      const op = NEGATED_NUMERIC[node.op];
      return op === undefined ? { kind: 'Not', child: node } : { ...node, op };
    }
    case 'StringCheck': {
      const value = [...new Set((body['value'] as string[]).map(String))].sort();
      const node: Node = {
        kind: 'String',
        field: fieldName(body['source'], body['field']),
        op: String(body['op']),
        value,
      };
      if (!negate) return node;
      if (node.op === 'In') return { ...node, op: 'NotIn' };
      if (node.op === 'NotIn') return { ...node, op: 'In' };
      return { kind: 'Not', child: node };
    }
    case 'FieldPresent':
      return maybeNot({ kind: 'Present', field: fieldName(body['source'], body['field']) }, negate);
    case 'FieldEquals': {
      const [a, b] = [
        fieldName(body['source_a'], body['field_a']),
        fieldName(body['source_b'], body['field_b']),
      ].sort();
      return maybeNot({ kind: 'FieldEquals', a: a!, b: b! }, negate);
    }
    case 'Equals':
      return maybeNot(
        {
          kind: 'Equals',
          field: fieldName(body['source'], body['field']),
          value: body['value'] as JsonValue,
        },
        negate,
      );
    default:
      return maybeNot({ kind: 'Other', key: canonicalJson(c) }, negate);
  }
}

function maybeNot(node: Node, negate: boolean): Node {
  return negate ? { kind: 'Not', child: node } : node;
}

/** The node that is true exactly where `node` is false, and unknown where it is unknown (Kleene Not). */
export function negate(node: Node): Node {
  switch (node.kind) {
    case 'All':
      return { kind: 'Any', children: node.children.map(negate) };
    case 'Any':
      return { kind: 'All', children: node.children.map(negate) };
    case 'Not':
      return node.child;
    case 'Numeric': {
      const op = NEGATED_NUMERIC[node.op];
      return op === undefined ? { kind: 'Not', child: node } : { ...node, op };
    }
    case 'String':
      if (node.op === 'In') return { ...node, op: 'NotIn' };
      if (node.op === 'NotIn') return { ...node, op: 'In' };
      return { kind: 'Not', child: node };
    default:
      return { kind: 'Not', child: node };
  }
}

/**
 * Whether no call makes `node` true. Sound: `true` is proven. Besides {@link implies}, it knows
 * the leaves that are never true (`In []`, `Prefix []`) and All children that exclude each other
 * (`Lte 5` with `Gte 10`).
 */
export function neverTrue(node: Node): boolean {
  switch (node.kind) {
    case 'All':
      return node.children.some(neverTrue) || exclusivePair(node.children) !== null;
    case 'Any':
      return node.children.every(neverTrue);
    case 'Not':
      return neverFalse(node.child);
    case 'String':
      return node.value.length === 0 && node.op !== 'NotIn';
    default:
      // Not `Equals` with a null value: it is never true (docs/policy.md, "Equals"), but the original
      // engine holds it true over a null field; no finding rests on either.
      return false;
  }
}

/** Whether no call makes `node` false (it is always true or unknown). Sound, like {@link neverTrue}. */
export function neverFalse(node: Node): boolean {
  switch (node.kind) {
    case 'All':
      return node.children.every(neverFalse);
    case 'Any':
      return (
        node.children.some(neverFalse) ||
        node.children.some((a, i) =>
          node.children.some((b, j) => j > i && implies(negate(a), b, true)),
        )
      );
    case 'Not':
      return neverTrue(node.child);
    case 'String':
      return node.value.length === 0 && node.op === 'NotIn';
    default:
      return false;
  }
}

/** The first two children of an All that no call makes both true, as indexes, or null. */
export function exclusivePair(children: readonly Node[]): [number, number] | null {
  for (let i = 0; i < children.length; i++) {
    for (let j = i + 1; j < children.length; j++) {
      // T(a) ⊆ F(b) = T(not b): whenever a is true, b is false.
      if (implies(children[i]!, negate(children[j]!), true)) return [i, j];
    }
  }
  return null;
}

/** A key equal for two nodes exactly when they are the same normal form. */
export function nodeKey(node: Node): string {
  return canonicalJson(node);
}

/** True when the node is true for every call (an empty All). */
export function isAlways(node: Node): boolean {
  return node.kind === 'All' && node.children.length === 0;
}

/** True when the node is false for every call (an empty Any). */
export function isNever(node: Node): boolean {
  return node.kind === 'Any' && node.children.length === 0;
}

/**
 * Whether every call that makes `a` true also makes `b` true (`truth` true), or every call that
 * makes `a` false also makes `b` false (`truth` false). Sound: `true` is proven; `false` is unsure.
 */
export function implies(a: Node, b: Node, truth: boolean): boolean {
  if (nodeKey(a) === nodeKey(b)) return true;
  // T(always) is everything and F(always) nothing; the other way round for never.
  if (truth ? isAlways(b) || isNever(a) : isAlways(a) || isNever(b)) return true;
  // Under truth All intersects its children's sets and Any unites them; under falsity the reverse.
  const meet = (n: Node): boolean => (n.kind === 'All' && truth) || (n.kind === 'Any' && !truth);
  const join = (n: Node): boolean => (n.kind === 'Any' && truth) || (n.kind === 'All' && !truth);
  const children = (n: Node): Node[] => (n.kind === 'All' || n.kind === 'Any' ? n.children : []);
  if (meet(b)) return children(b).every((child) => implies(a, child, truth));
  if (join(a)) return children(a).every((child) => implies(child, b, truth));
  if (meet(a) && children(a).some((child) => implies(child, b, truth))) return true;
  if (join(b) && children(b).some((child) => implies(a, child, truth))) return true;
  if (a.kind === 'Not' && b.kind === 'Not') return implies(a.child, b.child, !truth);
  if (a.kind === 'Not' || b.kind === 'Not' || meet(a) || join(b)) return false;
  return truth ? leafTrueImplies(a, b) : leafFalseImplies(a, b);
}

interface Interval {
  lo: number;
  loOpen: boolean;
  hi: number;
  hiOpen: boolean;
}

/** The numbers that make `x op v` true. */
function interval(op: string, v: number): Interval | null {
  switch (op) {
    case 'Lte':
      return { lo: -Infinity, loOpen: false, hi: v, hiOpen: false };
    case 'Lt':
      return { lo: -Infinity, loOpen: false, hi: v, hiOpen: true };
    case 'Gte':
      return { lo: v, loOpen: false, hi: Infinity, hiOpen: false };
    case 'Gt':
      return { lo: v, loOpen: true, hi: Infinity, hiOpen: false };
    case 'Eq':
      // |x - v| < EPSILON in the engine: x lies within [v - ε, v + ε] (rounded outward by f64 itself).
      return { lo: v - Number.EPSILON, loOpen: false, hi: v + Number.EPSILON, hiOpen: false };
    default:
      return null;
  }
}

function within(inner: Interval, outer: Interval): boolean {
  const lo = outer.lo < inner.lo || (outer.lo === inner.lo && (!outer.loOpen || inner.loOpen));
  const hi = outer.hi > inner.hi || (outer.hi === inner.hi && (!outer.hiOpen || inner.hiOpen));
  return lo && hi;
}

function fieldsOf(node: Node): string[] {
  switch (node.kind) {
    case 'Numeric':
    case 'String':
    case 'Present':
    case 'Equals':
      return [node.field];
    case 'FieldEquals':
      return [node.a, node.b];
    default:
      return [];
  }
}

/** Whether a string passes a StringCheck. */
function stringPasses(s: string, op: string, list: readonly string[]): boolean | null {
  switch (op) {
    case 'In':
      return list.includes(s);
    case 'NotIn':
      return !list.includes(s);
    case 'Prefix':
      return list.some((p) => s.startsWith(p));
    case 'Suffix':
      return list.some((p) => s.endsWith(p));
    default:
      return null;
  }
}

function leafTrueImplies(a: Node, b: Node): boolean {
  // Every leaf is true only over a present, non-null value (but `Equals null`: see neverTrue).
  if (b.kind === 'Present')
    return (
      a.kind !== 'Other' &&
      !(a.kind === 'Equals' && a.value === null) &&
      fieldsOf(a).includes(b.field)
    );
  if (a.kind === 'Equals') {
    const v = a.value;
    if (b.kind === 'Numeric' && b.field === a.field && typeof v === 'number') {
      const range = interval(b.op, b.value);
      return range !== null && within({ lo: v, loOpen: false, hi: v, hiOpen: false }, range);
    }
    if (b.kind === 'String' && b.field === a.field && typeof v === 'string')
      return stringPasses(v, b.op, b.value) === true;
    return false;
  }
  if (a.kind === 'Numeric' && b.kind === 'Numeric' && a.field === b.field) {
    const inner = interval(a.op, a.value);
    const outer = interval(b.op, b.value);
    // Eq on the right is an ε-wide set: only an identical Eq (handled by key equality) fits in it.
    return inner !== null && outer !== null && b.op !== 'Eq' && within(inner, outer);
  }
  if (a.kind === 'String' && b.kind === 'String' && a.field === b.field) {
    if (a.op === 'In') return a.value.every((s) => stringPasses(s, b.op, b.value) === true);
    if (a.op === 'NotIn' && b.op === 'NotIn') return b.value.every((s) => a.value.includes(s));
    if (a.op === b.op && (a.op === 'Prefix' || a.op === 'Suffix')) {
      const covers =
        a.op === 'Prefix'
          ? (s: string, p: string) => s.startsWith(p)
          : (s: string, p: string) => s.endsWith(p);
      return a.value.every((s) => b.value.some((p) => covers(s, p)));
    }
  }
  return false;
}

function leafFalseImplies(a: Node, b: Node): boolean {
  if (a.kind === 'Numeric' && b.kind === 'Numeric' && a.field === b.field) {
    // False means a number outside the true set: the complement of a half-line is a half-line.
    const na = NEGATED_NUMERIC[a.op];
    const nb = NEGATED_NUMERIC[b.op];
    if (na === undefined || nb === undefined) return false;
    return within(interval(na, a.value)!, interval(nb, b.value)!);
  }
  if (a.kind === 'String' && b.kind === 'String' && a.field === b.field) {
    const negated: Readonly<Record<string, string>> = { In: 'NotIn', NotIn: 'In' };
    const na = negated[a.op];
    const nb = negated[b.op];
    if (na !== undefined && nb !== undefined)
      return leafTrueImplies({ ...a, op: na }, { ...b, op: nb });
    if (a.op === b.op && (a.op === 'Prefix' || a.op === 'Suffix')) {
      // A string that starts with none of a's prefixes starts with none of b's when each of b's
      // extends one of a's.
      const extendsOne =
        a.op === 'Prefix'
          ? (p: string, q: string) => p.startsWith(q)
          : (p: string, q: string) => p.endsWith(q);
      return b.value.every((p) => a.value.some((q) => extendsOne(p, q)));
    }
  }
  return false;
}

/** A condition in one line: `Arguments.amount Lte 500`, `All(x; y)`, `always`. */
export function conditionText(node: Node): string {
  switch (node.kind) {
    case 'All':
    case 'Any':
      if (node.children.length === 0) return node.kind === 'All' ? 'always' : 'never';
      return `${node.kind}(${node.children.map(conditionText).join('; ')})`;
    case 'Not':
      return `Not(${conditionText(node.child)})`;
    case 'Numeric':
      return `${node.field} ${node.op} ${node.value}`;
    case 'String':
      return `${node.field} ${node.op} ${JSON.stringify(node.value)}`;
    case 'Present':
      return `FieldPresent ${node.field}`;
    case 'FieldEquals':
      return `${node.a} FieldEquals ${node.b}`;
    case 'Equals':
      return `${node.field} Equals ${JSON.stringify(node.value)}`;
    case 'Other':
      return node.key;
  }
}

/**
 * The benchmark workload: a mix of allowed and denied calls over the original demo policy, taken from
 * the conformance fixtures so every contender is checked against the expected decisions first.
 */
import { readFileSync } from 'node:fs';
import type { JsonObject } from '../src/call/decision.ts';

/** One call in the SDK shape, with the decision the conformance fixtures expect. */
export interface BenchCall {
  id: string;
  tool: string;
  args: Record<string, unknown>;
  role: string;
  agentAttributes: JsonObject;
  resourceAttributes: JsonObject;
  expect: 'Allow' | 'Deny';
}

interface ConformanceCase {
  id: string;
  policy: unknown;
  request: Omit<BenchCall, 'id' | 'expect'>;
  expect: 'Allow' | 'Deny';
}

const fixtures = new URL('../test/fixtures/', import.meta.url);

/** The demo policy's JSON text (the original perso-demo policy). */
export const demoPolicyText = readFileSync(new URL('perso-demo-policy.json', fixtures), 'utf8');

// Cedar numbers are 64-bit integers, so the one case with a fractional amount is left out for all.
const excluded = new Set(['demo-22-manager-refund-2000.01']);

/** The demo-policy conformance cases: roughly half allowed, half denied. */
export const demoMix: readonly BenchCall[] = (
  JSON.parse(readFileSync(new URL('conformance.json', fixtures), 'utf8')).cases as ConformanceCase[]
)
  .filter((c) => c.policy === 'demo' && !excluded.has(c.id))
  .map((c) => ({ id: c.id, expect: c.expect, ...c.request }) as BenchCall);

/**
 * Calls that a typed engine must deny and that loosely typed evaluators have been seen to allow:
 * a refund limit of 500 asked with a string, a boolean, null, an array, or a number-like object.
 */
export const hostileRefunds: readonly BenchCall[] = [
  ['string "400"', '400'],
  ['boolean true', true],
  ['null', null],
  ['array [400]', [400]],
  ['string "1e2"', '1e2'],
].map(([label, amount]) => ({
  id: `hostile amount ${label as string}`,
  tool: 'process_refund',
  args: { order_id: 'ORD-8821', amount },
  role: 'agent',
  agentAttributes: { user_id: 'agt-099', env: 'staging' },
  resourceAttributes: {},
  expect: 'Deny' as const,
}));

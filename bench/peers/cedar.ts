/**
 * Peer: Cedar (`@cedar-policy/cedar-wasm`, Rust compiled to wasm) with the demo policy translated by
 * hand (`cedar-policy.ts`). The policy set is pre-parsed once, as a host would.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { BenchCall } from '../workload.ts';
import { CEDAR_POLICY_SET_ID, cedarRequest, demoPolicyCedar } from './cedar-policy.ts';

/** Parses the demo policy into Cedar's cache; returns the time it took in milliseconds. */
export function loadCedar(): number {
  const start = performance.now();
  const answer = cedar.preparsePolicySet(CEDAR_POLICY_SET_ID, { staticPolicies: demoPolicyCedar });
  if (answer.type !== 'success') throw new Error(`cedar: ${JSON.stringify(answer.errors)}`);
  return performance.now() - start;
}

/** Decides one call with Cedar. */
export function decideWithCedar(call: BenchCall): 'Allow' | 'Deny' {
  const answer = cedar.statefulIsAuthorized(cedarRequest(call));
  return answer.type === 'success' && answer.response.decision === 'allow' ? 'Allow' : 'Deny';
}

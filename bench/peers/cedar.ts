/**
 * Peer: Cedar (`@cedar-policy/cedar-wasm`, Rust compiled to wasm) with the demo policy translated by
 * hand. The role and the attributes travel in the request context (no entity store), which is the
 * cheapest way to ask Cedar these questions. The policy set is pre-parsed once, as a host would.
 */
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import type { BenchCall } from '../workload.ts';

/** The demo policy in Cedar. */
export const demoPolicyCedar = `
permit (principal, action in [Action::"view_customer", Action::"update_customer"], resource)
when { ["agent", "manager", "admin"].contains(context.role) };

permit (principal, action == Action::"delete_customer", resource)
when {
  ["manager", "admin"].contains(context.role) &&
  ((context.agent has user_id && context.resource has owner_id &&
    context.agent.user_id == context.resource.owner_id) ||
   (context.agent has role && context.agent.role == "admin"))
};

permit (principal, action == Action::"process_refund", resource)
when { context.role == "agent" && context.args has amount && context.args.amount <= 500 };

permit (principal, action == Action::"process_refund", resource)
when { ["manager", "admin"].contains(context.role) && context.args has amount && context.args.amount <= 2000 };

permit (principal, action == Action::"access_pii", resource)
when { ["manager", "admin"].contains(context.role) && context.agent has mfa_verified };

permit (principal, action == Action::"export_data", resource)
when { ["manager", "admin"].contains(context.role) && context.agent has env && context.agent.env == "production" };

permit (principal, action == Action::"bulk_update", resource)
when {
  context.role == "admin" && context.agent has env && context.agent.env == "production" &&
  context.agent has mfa_verified
};
`;

const POLICY_SET_ID = 'perso-demo';

/** Parses the demo policy into Cedar's cache; returns the time it took in milliseconds. */
export function loadCedar(): number {
  const start = performance.now();
  const answer = cedar.preparsePolicySet(POLICY_SET_ID, { staticPolicies: demoPolicyCedar });
  if (answer.type !== 'success') throw new Error(`cedar: ${JSON.stringify(answer.errors)}`);
  return performance.now() - start;
}

// Cedar has no null: drop null-valued keys, as a host translating requests would.
const withoutNulls = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));

/** Decides one call with Cedar. */
export function decideWithCedar(call: BenchCall): 'Allow' | 'Deny' {
  const answer = cedar.statefulIsAuthorized({
    principal: { type: 'User', id: 'principal' },
    action: { type: 'Action', id: call.tool },
    resource: { type: 'Resource', id: 'resource' },
    context: {
      role: call.role,
      args: withoutNulls(call.args),
      agent: withoutNulls(call.agentAttributes),
      resource: withoutNulls(call.resourceAttributes),
    } as never,
    preparsedPolicySetId: POLICY_SET_ID,
    entities: [],
  });
  return answer.type === 'success' && answer.response.decision === 'allow' ? 'Allow' : 'Deny';
}

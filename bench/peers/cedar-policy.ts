/**
 * The original demo policy translated to Cedar, and the request a host would send for a perso call,
 * shared by the Node peer (`cedar.ts`) and the browser worker peer (`../browser/cedar.worker.ts`).
 * The role and the attributes travel in the request context (no entity store), the cheapest way to
 * ask Cedar these questions.
 */

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

/** The id under which the demo policy set is pre-parsed. */
export const CEDAR_POLICY_SET_ID = 'perso-demo';

/** A perso call, as the Cedar peers read it. */
export interface CedarPeerCall {
  tool: string;
  role: string;
  args?: Record<string, unknown>;
  agentAttributes?: Record<string, unknown>;
  resourceAttributes?: Record<string, unknown>;
}

// Cedar has no null: drop null-valued keys, as a host translating requests would.
const withoutNulls = (o: Record<string, unknown> = {}) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));

/** The `statefulIsAuthorized` request for a call, against the pre-parsed demo policy set. */
export function cedarRequest(call: CedarPeerCall) {
  return {
    principal: { type: 'User', id: 'principal' },
    action: { type: 'Action', id: call.tool },
    resource: { type: 'Resource', id: 'resource' },
    context: {
      role: call.role,
      args: withoutNulls(call.args),
      agent: withoutNulls(call.agentAttributes),
      resource: withoutNulls(call.resourceAttributes),
    } as never,
    preparsedPolicySetId: CEDAR_POLICY_SET_ID,
    entities: [],
  };
}

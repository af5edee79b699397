/**
 * The original demo policy translated to Cedar, as in `bench/peers/cedar.ts` (the Node peer, which
 * imports Cedar's Node build and so cannot be loaded in a browser). Keep the two in step. The role
 * and the attributes travel in the request context (no entity store), the cheapest way to ask
 * Cedar these questions.
 */
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

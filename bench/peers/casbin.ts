/**
 * Peer: casbin (node-casbin) with an ABAC model: one policy line per (tool, role) grant and the
 * condition as a casbin `eval()` expression over the request, the closest casbin comes to the demo.
 */
import { newEnforcer, newModelFromString, StringAdapter, type Enforcer } from 'casbin';
import type { BenchCall } from '../workload.ts';

const model = `
[request_definition]
r = tool, role, args, agent, resource

[policy_definition]
p = tool, role, rule

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.tool == p.tool && r.role == p.role && eval(p.rule)
`;

const grants: Array<[string, string[], string]> = [
  ['view_customer', ['agent', 'manager', 'admin'], 'true'],
  ['update_customer', ['agent', 'manager', 'admin'], 'true'],
  [
    'delete_customer',
    ['manager', 'admin'],
    'r.agent.user_id == r.resource.owner_id || r.agent.role == "admin"',
  ],
  ['process_refund', ['agent'], 'r.args.amount <= 500'],
  ['process_refund', ['manager', 'admin'], 'r.args.amount <= 2000'],
  ['access_pii', ['manager', 'admin'], 'r.agent.mfa_verified != undefined'],
  ['export_data', ['manager', 'admin'], 'r.agent.env == "production"'],
  ['bulk_update', ['admin'], 'r.agent.env == "production" && r.agent.mfa_verified != undefined'],
];

const policyLines = grants
  .flatMap(([tool, roles, rule]) =>
    roles.map((role) => `p, ${tool}, ${role}, "${rule.replaceAll('"', '""')}"`),
  )
  .join('\n');

let enforcer: Enforcer | undefined;

/** Builds the enforcer; returns the time it took in milliseconds. */
export async function loadCasbin(): Promise<number> {
  const start = performance.now();
  enforcer = await newEnforcer(newModelFromString(model), new StringAdapter(policyLines));
  return performance.now() - start;
}

/** Decides one call with casbin (synchronous enforcement). */
export function decideWithCasbin(call: BenchCall): 'Allow' | 'Deny' {
  if (!enforcer) throw new Error('casbin: call loadCasbin() first');
  return enforcer.enforceSync(
    call.tool,
    call.role,
    call.args,
    call.agentAttributes,
    call.resourceAttributes,
  )
    ? 'Allow'
    : 'Deny';
}

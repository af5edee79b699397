/**
 * The limit: the demo policy written by hand as plain JavaScript, with perso's semantics (typed
 * comparisons, missing data never grants, null is absent). No policy engine can beat this; the
 * benchmark reports how close each contender gets.
 */
import type { BenchCall } from '../workload.ts';

const present = (o: Record<string, unknown>, k: string) =>
  Object.hasOwn(o, k) && o[k] !== null && o[k] !== undefined;
const amountAtMost = (args: Record<string, unknown>, limit: number) =>
  typeof args.amount === 'number' && args.amount <= limit;
const isProduction = (a: Record<string, unknown>) => a.env === 'production';

/** Decides a demo-policy call by hand-written code. */
export function decideByHand(call: BenchCall): 'Allow' | 'Deny' {
  const { role, args, agentAttributes: agent, resourceAttributes: resource } = call;
  const managerOrAdmin = role === 'manager' || role === 'admin';
  let ok: boolean;
  switch (call.tool) {
    case 'view_customer':
    case 'update_customer':
      ok = role === 'agent' || managerOrAdmin;
      break;
    case 'delete_customer':
      ok =
        managerOrAdmin &&
        ((present(agent, 'user_id') &&
          present(resource, 'owner_id') &&
          typeof agent.user_id === typeof resource.owner_id &&
          agent.user_id === resource.owner_id) ||
          agent.role === 'admin');
      break;
    case 'process_refund':
      ok = role === 'agent' ? amountAtMost(args, 500) : managerOrAdmin && amountAtMost(args, 2000);
      break;
    case 'access_pii':
      ok = managerOrAdmin && present(agent, 'mfa_verified');
      break;
    case 'export_data':
      ok = managerOrAdmin && isProduction(agent);
      break;
    case 'bulk_update':
      ok = role === 'admin' && isProduction(agent) && present(agent, 'mfa_verified');
      break;
    default:
      ok = false;
  }
  return ok ? 'Allow' : 'Deny';
}

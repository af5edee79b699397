// Peer: @cedar-policy/cedar-wasm (web build) in a worker, with the demo policy in Cedar. Bare
// postMessage, no Comlink: the cheapest way to put Cedar behind a worker boundary.
//   in:  {type: 'evaluate', call} | {type: 'batch', calls}
//   out: 'Allow' | 'Deny' | ('Allow' | 'Deny')[]   (the first message answers 'ready' once loaded)
import init, { preparsePolicySet, statefulIsAuthorized } from '@cedar-policy/cedar-wasm/web';
import { demoPolicyCedar } from './cedar-demo-policy.ts';

interface Call {
  tool: string;
  role: string;
  args?: Record<string, unknown>;
  agentAttributes?: Record<string, unknown>;
  resourceAttributes?: Record<string, unknown>;
}

const scope = self as unknown as { postMessage(message: unknown): void; addEventListener(type: string, l: (e: MessageEvent) => void): void };
const POLICY_SET_ID = 'perso-demo';

// Cedar has no null: drop null-valued keys, as a host translating requests would.
const withoutNulls = (o: Record<string, unknown> = {}) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null));

function decide(call: Call): 'Allow' | 'Deny' {
  const answer = statefulIsAuthorized({
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

const ready = (async () => {
  await init({ module_or_path: new URL('/node_modules/@cedar-policy/cedar-wasm/web/cedar_wasm_bg.wasm', self.location.origin) });
  const parsed = preparsePolicySet(POLICY_SET_ID, { staticPolicies: demoPolicyCedar });
  if (parsed.type !== 'success') throw new Error(`cedar: ${JSON.stringify(parsed.errors)}`);
})();

scope.addEventListener('message', async (event: MessageEvent) => {
  await ready;
  const message = event.data as { type: 'evaluate'; call: Call } | { type: 'batch'; calls: Call[] } | { type: 'ready' };
  if (message.type === 'ready') scope.postMessage('ready');
  else if (message.type === 'evaluate') scope.postMessage(decide(message.call));
  else scope.postMessage(message.calls.map(decide));
});

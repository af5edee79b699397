// Peer: @cedar-policy/cedar-wasm (web build) in a worker, with the demo policy in Cedar. Bare
// postMessage, no Comlink: the cheapest way to put Cedar behind a worker boundary.
//   in:  {type: 'evaluate', call} | {type: 'batch', calls}
//   out: 'Allow' | 'Deny' | ('Allow' | 'Deny')[]   (the first message answers 'ready' once loaded)
import init, { preparsePolicySet, statefulIsAuthorized } from '@cedar-policy/cedar-wasm/web';
import {
  CEDAR_POLICY_SET_ID,
  cedarRequest,
  demoPolicyCedar,
  type CedarPeerCall,
} from '../peers/cedar-policy.ts';

const scope = self as unknown as {
  postMessage(message: unknown): void;
  addEventListener(type: string, l: (e: MessageEvent) => void): void;
};

function decide(call: CedarPeerCall): 'Allow' | 'Deny' {
  const answer = statefulIsAuthorized(cedarRequest(call));
  return answer.type === 'success' && answer.response.decision === 'allow' ? 'Allow' : 'Deny';
}

const ready = (async () => {
  await init({
    module_or_path: new URL(
      '/node_modules/@cedar-policy/cedar-wasm/web/cedar_wasm_bg.wasm',
      self.location.origin,
    ),
  });
  const parsed = preparsePolicySet(CEDAR_POLICY_SET_ID, { staticPolicies: demoPolicyCedar });
  if (parsed.type !== 'success') throw new Error(`cedar: ${JSON.stringify(parsed.errors)}`);
})();

scope.addEventListener('message', async (event: MessageEvent) => {
  await ready;
  const message = event.data as
    | { type: 'evaluate'; call: CedarPeerCall }
    | { type: 'batch'; calls: CedarPeerCall[] }
    | { type: 'ready' };
  if (message.type === 'ready') scope.postMessage('ready');
  else if (message.type === 'evaluate') scope.postMessage(decide(message.call));
  else scope.postMessage(message.calls.map(decide));
});

// R7 (session 10 red team): every policy load started new rate-limit and budget windows, also a
// reload of the very same text. A host that reloads its policy on a timer (to pick up edits) turned
// "1000 per day" into "1000 per reload interval". Fixed: the same text keeps the windows (Allow
// Deny Deny); other text starts new ones, as documented.
import { Perso } from 'perso';
const policy = {
  version: 'r7',
  default_action: 'Deny',
  tools: ['pay'],
  rules: [
    {
      id: 'b',
      tool_name: 'pay',
      roles: ['agent'],
      budget: { sum: 'Arguments.amount', max: 1000, per_seconds: 86400 },
    },
  ],
};
const perso = await Perso.load({ policy });
const call = { tool: 'pay', role: 'agent', args: { amount: 1000 } };
const first = await perso.evaluate(call);
const second = await perso.evaluate(call);
await perso.reload(policy); // the same policy
const third = await perso.evaluate(call);
console.log(first.decision, second.decision, third.decision); // Allow Deny Deny (was Allow Deny Allow)
await perso.close();

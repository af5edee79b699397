/**
 * `node --import tsx bench/stateful.ts [--quick]`: only the "Decisions with state (issue 14)" section
 * of `npm run bench:node` (bench/stateful-policies.ts), printed and not written to bench/results.
 */
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';
import { statefulPolicies } from './stateful-policies.ts';

const module = await loadEngineModule();
for (const line of await statefulPolicies(
  () => Engine.create(module),
  process.argv.includes('--quick'),
))
  console.log(line);

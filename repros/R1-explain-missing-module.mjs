// R1 (session 10 red team): in the packed package, perso.explain (and `npx perso explain`) reject
// with ERR_MODULE_NOT_FOUND: dist/analysis/untrusted-trace.js imports
// dist/reference/reference-untrusted.js, which package.json's "files" ("!dist/reference") left out.
// Run in an app that installed the tarball: node R1-explain-missing-module.mjs
import { Perso } from 'perso';
const perso = await Perso.load({
  policy: new URL('./R1-explain-missing-module.policy.json', import.meta.url).pathname,
});
try {
  const explained = await perso.explain({ tool: 't', role: 'r', args: {} });
  console.log('explain:', explained.decision); // fixed: Allow
} catch (error) {
  console.log('explain rejected:', error.code); // before the fix: ERR_MODULE_NOT_FOUND
}
await perso.close();

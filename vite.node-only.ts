// The Node built-ins perso reads policy files and engine.wasm with, only ever reached in Node
// (policy-source.ts and engine-module.ts check for Node first). In a browser build they resolve to
// one small ES module whose functions throw, instead of Vite's CommonJS `__vite-browser-external`
// stand-in, which pulls a CommonJS-interop runtime chunk into the page and warns ("externalized
// for browser compatibility") on every build. Used by every browser build of the library: the
// `perso` and `perso/element` builds and the script-tag embed.
import type { Plugin } from 'vite';

const NODE_ONLY = new Set(['node:fs/promises', 'node:path', 'node:url']);
const NODE_STUB = '\0perso-node-only';

/** The Vite plugin; add it first to `plugins`. */
export function nodeOnlyStub(): Plugin {
  return {
    name: 'perso-node-only',
    enforce: 'pre',
    resolveId: (id) => (NODE_ONLY.has(id) ? NODE_STUB : null),
    load: (id) =>
      id === NODE_STUB
        ? `const nodeOnly = () => { throw new Error('files can only be read in Node; in a browser pass a URL or a policy object'); };
export { nodeOnly as fileURLToPath, nodeOnly as readFile, nodeOnly as resolve, nodeOnly as stat };`
        : null,
  };
}

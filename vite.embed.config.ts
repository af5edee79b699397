// The script-tag embed: `dist/script/perso-embed.js`, a classic (IIFE) script for <head>.
// The evaluator worker and engine.wasm stay separate files in `dist/script/assets/` (no data: URLs:
// strict CSP pages block them); they are found relative to the script's own URL.
//   npm run build:embed
import { defineConfig } from 'vite';
import type { Plugin } from 'vite';
import { fileURLToPath } from 'node:url';
import { recordCodeDigests } from './vite.code-digests.ts';
import { workerModules } from './vite.worker-module.ts';
import { nodeOnlyStub } from './vite.node-only.ts';

// IIFE output has no import.meta. In the embed's own chunk (not the worker, an ES module that has
// its own import.meta), `import.meta.url` is the script's URL, captured while it runs
// (document.currentScript is null afterwards, when the worker is started), and `import.meta.resolve`
// is absent (Vite's preload helper asks for it). Defined for the whole chunk, the code Vite injects
// included, so nothing is left for the bundler to blank with a warning.
const SCRIPT_URL = '__perso_embed_url__';

// The bundler's namespace helper (`__export`, used for the embed's lazy chunks) walks its table
// with `for...in`, which also visits enumerable keys a script added to Object.prototype: the embed
// would then throw while it starts ("Getter must be a function") and leave the page's WebMCP tools
// unguarded. Own keys only. The build fails if the helper's shape changes (so this is revisited).
const EXPORT_HELPER = /for\(var (\w+) in (\w+)\)(\w+)\((\w+),\1,\{get:\2\[\1\],enumerable:!0\}\)/g;

function ownKeysExportHelper(): Plugin {
  return {
    name: 'perso-embed-own-keys-export',
    enforce: 'post',
    generateBundle(_, bundle) {
      for (const chunk of Object.values(bundle)) {
        if (chunk.type !== 'chunk' || !chunk.code.includes(' in ')) continue;
        const patched = chunk.code.replace(
          EXPORT_HELPER,
          (_, key, table, define, target) =>
            `for(var ${key} of Object.keys(${table}))${define}(${target},${key},{get:${table}[${key}],enumerable:!0})`,
        );
        if (patched === chunk.code && /for\(var \w+ in \w+\)\w+\(\w+,\w+,\{get:/.test(chunk.code)) {
          this.error(
            "perso-embed: the bundler's export helper changed shape; update ownKeysExportHelper in vite.embed.config.ts",
          );
        }
        chunk.code = patched;
      }
    },
  };
}

export default defineConfig({
  // Relative URLs: the assets sit next to the script wherever the host serves it.
  base: './',
  publicDir: false,
  plugins: [nodeOnlyStub(), ownKeysExportHelper(), workerModules(), recordCodeDigests()],
  build: {
    outDir: fileURLToPath(new URL('./dist/script', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    minify: true,
    sourcemap: false,
    // Never inline the wasm or the worker as data: URLs.
    assetsInlineLimit: 0,
    modulePreload: false,
    copyPublicDir: false,
    rolldownOptions: {
      // A warning of this build is a defect of ours that the build would ship: fail on it.

      input: fileURLToPath(new URL('./src/embed/perso-embed.ts', import.meta.url)),
      transform: { define: { 'import.meta.url': SCRIPT_URL, 'import.meta.resolve': 'undefined' } },
      output: {
        format: 'iife',
        entryFileNames: 'perso-embed.js',
        intro:
          `var ${SCRIPT_URL} = (document.currentScript && document.currentScript.tagName.toUpperCase() === 'SCRIPT' && document.currentScript.src) ` +
          `|| new URL('perso-embed.js', document.baseURI).href;`,
      },
    },
  },
  worker: { format: 'es', plugins: () => [workerModules(), recordCodeDigests()] },
  experimental: {
    // The worker's URL is computed when the first call starts it, after document.currentScript
    // is gone: resolve it against the URL captured at start-up. Inside the worker (an ES module)
    // the default, import.meta.url, is right.
    renderBuiltUrl(filename, { hostType, hostId }) {
      if (hostType === 'js' && !hostId.includes('worker'))
        return { runtime: `new URL(${JSON.stringify(filename)}, ${SCRIPT_URL}).href` };
      return { relative: true };
    },
  },
});

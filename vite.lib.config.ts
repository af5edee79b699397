// The browser library build: `dist/browser/` (`index.js` for `perso`, `element.js` for
// `perso/element`), ESM. `npx vite build -c vite.lib.config.ts`
// Invariants (checked in test/browser/perso-browser.test.ts, which runs this build under a strict CSP):
// - the evaluator worker and engine.wasm are separate files, found with the standard
//   `new Worker(new URL('./worker/evaluator.worker.ts', import.meta.url), {type: 'module'})` and
//   `new URL('../../engine/build/engine.wasm', import.meta.url)` patterns — never `data:` URLs,
//   which strict CSP pages (`worker-src 'self'`, no `'unsafe-eval'`) block;
// - Comlink, idb and lit are bundled (the package's own dependencies), so the build runs from any
//   static server without an import map.
//
// Not `build.lib`: Vite's library mode inlines every asset as a base64 `data:` URL whatever
// `assetsInlineLimit` says (https://github.com/vitejs/vite/issues/3295), which would put the wasm
// inside the worker. A plain build with a module entry and kept export signatures gives the same
// ESM output with the wasm as its own file.
import { defineConfig } from 'vite';
import type { Plugin } from 'vite';
import { fileURLToPath } from 'node:url';
import { recordCodeDigests } from './vite.code-digests.ts';
import { workerModules } from './vite.worker-module.ts';
import { nodeOnlyStub } from './vite.node-only.ts';

// Vite wraps a dynamic import whose chunk imports other chunks in its preload helper
// (<link rel=modulepreload> tags, CSS, a `vite:preloadError` event: about 1.3 KiB gzipped). This
// build preloads nothing (`modulePreload: false`, no CSS), so the helper would only call the import;
// and an app that bundles perso wraps the same imports in its own helper again. One line instead.
const PRELOAD_HELPER = '\0vite/preload-helper.js';
const plainPreload: Plugin = {
  name: 'perso-plain-preload',
  enforce: 'pre',
  load: (id) => (id === PRELOAD_HELPER ? 'export const __vitePreload = (load) => load();' : null),
};

// engine.wasm ships once, as the package's `engine/build/engine.wasm` (Node's copy and the
// `perso/engine.wasm` export): the built files point there (`../../engine/build/engine.wasm` from
// `dist/browser/index.js`, one `../` more from `chunks/` and `assets/`) instead of each carrying a
// hashed copy. An app that bundles the built library copies and renames the file from there, as it
// would from `dist/browser/assets/`. (The script-tag embed, `dist/script/`, is served as a folder
// of its own and keeps its copy.)
const WASM_REFERENCE =
  /new URL\((['"])(?:\.\.\/)+engine\/build\/engine\.wasm\1, import\.meta\.url\)/g;
const WASM_PLACEHOLDER = '__PERSO_ENGINE_WASM_HREF__';
/** The package's one engine.wasm, which the built code refers to (and whose digest it checks). */
const PACKAGE_WASM = fileURLToPath(new URL('./engine/build/engine.wasm', import.meta.url));
function engineWasmInPackage(): Plugin {
  return {
    name: 'perso-engine-wasm-in-package',
    enforce: 'pre',
    // A bare identifier instead of the literal: Vite emits a copy only for a literal URL.
    transform: (code) =>
      code.includes('engine/build/engine.wasm')
        ? {
            code: code.replace(WASM_REFERENCE, `new URL(${WASM_PLACEHOLDER}, import.meta.url)`),
            map: null,
          }
        : null,
    renderChunk(code, chunk) {
      if (!code.includes(WASM_PLACEHOLDER)) return null;
      const href = `${'../'.repeat(chunk.fileName.split('/').length + 1)}engine/build/engine.wasm`;
      return { code: code.replaceAll(WASM_PLACEHOLDER, JSON.stringify(href)), map: null };
    },
  };
}

// The page's chunk: `Perso` and everything it imports statically (a group takes its modules'
// dependencies too), with the small modules lazy chunks share (text, own properties, hex) and the
// preload helper. Left to itself the bundler puts those in chunks of their own, since a lazy chunk
// that needs one of them may not need the rest; but every lazy chunk loads after this one, so
// each would be one more file for the page to fetch (and an app that bundles perso splits its own
// preload helper out the same way).
const PAGE_CHUNK =
  /(?:[\\/]src[\\/](?:perso[\\/]perso|encoding[\\/](?:text|hex)|call[\\/]own-properties)\.ts|preload-helper\.js)$/;

export default defineConfig({
  publicDir: false,
  plugins: [
    nodeOnlyStub(),
    plainPreload,
    engineWasmInPackage(),
    workerModules(),
    recordCodeDigests(PACKAGE_WASM),
  ],
  // A page has no in-thread engine (engine: 'inline' needs Node): its same-turn fast path
  // (perso-decider.ts) is dead code in this build, and the minifier drops it.
  define: { 'globalThis.__PERSO_PAGE_BUILD__': 'true' },
  // URLs of the worker and the wasm relative to the module that loads them, wherever it is served
  base: './',
  build: {
    outDir: fileURLToPath(new URL('./dist/browser', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    minify: true,
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: false,
    rolldownOptions: {
      input: {
        index: fileURLToPath(new URL('./src/index.ts', import.meta.url)),
        // `perso/element` in a browser: the element and its events over the same worker and wasm
        element: fileURLToPath(new URL('./src/element/index.ts', import.meta.url)),
      },
      preserveEntrySignatures: 'strict',
      output: {
        format: 'es',
        entryFileNames: '[name].js',
        chunkFileNames: 'chunks/[name]-[hash].js',
        codeSplitting: {
          groups: [{ name: 'perso', test: PAGE_CHUNK }],
        },
        assetFileNames: 'assets/[name]-[hash][extname]',
      },
    },
  },
  worker: {
    format: 'es',
    plugins: () => [engineWasmInPackage(), workerModules(), recordCodeDigests(PACKAGE_WASM)],
    rolldownOptions: {
      output: {
        entryFileNames: 'assets/[name]-[hash].js',
        // The worker and its modules are served as built (an app copies them, it does not bundle
        // them again): `@__PURE__` and `@vite-ignore` hints are for a bundler, so they are dropped;
        // the licence comments stay.
        comments: { legal: true, annotation: false, jsdoc: false },
      },
    },
  },
});

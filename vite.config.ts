// The demo: `npm start` serves demo/ with Vite and prints its URL. Everything it needs is local
// (no CDN, no web fonts), so it works with no network once `npm install` has run.
//
// The demo is built like an app that depends on perso: it imports `perso` and `perso/element` by
// name, and Vite resolves them through this package's own `exports` (the `browser` builds in
// dist/browser/, made by `npm run build`, which `npm start` runs first when dist/ is missing),
// never from src/.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('./demo', import.meta.url)),
  server: {
    host: '127.0.0.1',
    port: 5173,
    // dist/browser/ and engine/build/engine.wasm live outside demo/
    fs: { allow: [repoRoot] },
  },
  preview: { host: '127.0.0.1' },
  build: {
    outDir: fileURLToPath(new URL('./dist/demo', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
  // perso's evaluator worker is an ES module
  worker: { format: 'es' },
});

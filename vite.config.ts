// The demo: `npm start` serves demo/ with Vite and prints its URL. Everything it needs is local
// (no CDN, no web fonts), so it works with no network once `npm install` has run.
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';
import { recordCodeDigests } from './vite.code-digests.ts';

const repoRoot = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: fileURLToPath(new URL('./demo', import.meta.url)),
  // The demo imports the library from ../src and the engine from ../engine/build.
  server: {
    host: '127.0.0.1',
    port: 5173,
    fs: { allow: [repoRoot] },
  },
  preview: { host: '127.0.0.1' },
  build: {
    outDir: fileURLToPath(new URL('./dist/demo', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
  },
  plugins: [recordCodeDigests()],
  worker: { format: 'es', plugins: () => [recordCodeDigests()] },
});

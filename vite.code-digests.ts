// Records the SHA-256 of the code perso loads in a page (see src/backend/code-integrity.ts): in every built
// chunk, the placeholders of src/backend/code-integrity.ts become the base64 digests of the engine.wasm,
// evaluator worker, worker-approvals and worker-reference files this same build emits. Used by every Vite build that ships the worker (the
// browser library, the embed, the demo), for the page's build and for the worker's own.
//
// Invariants:
// - the digests are of the emitted bytes, after minification (generateBundle, post): what a server
//   serves is what is checked;
// - a digest has the placeholder's length, so source maps stay exact;
// - a chunk that still needs a digest the bundle cannot give fails the build: never a silent
//   unchecked build;
// - the worker's lazy chunks (src/worker/checked-chunk.ts): each `PERSO-CHUNK:<name>` placeholder
//   becomes `<digest> <file>` of the chunk built from src/**/<name>.ts (its path relative to the
//   chunk that imports it), or `inline` when the bundle folded that module into the importing
//   chunk; chunk digests are taken after the other placeholders were written.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import type { Plugin } from 'vite';

const WASM_PLACEHOLDER = 'PERSO-DIGEST:engine.wasm:0000000000000000000';
const WORKER_PLACEHOLDER = 'PERSO-DIGEST:evaluator-worker:00000000000000';
const APPROVALS_PLACEHOLDER = 'PERSO-DIGEST:worker-approvals:00000000000000';
const REFERENCE_PLACEHOLDER = 'PERSO-DIGEST:worker-reference:00000000000000';
const CHUNK_PLACEHOLDER = 'PERSO-CHUNK:';

function sha256(bytes: string | Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}

/**
 * The Vite plugin; add it to `plugins` and to `worker.plugins`.
 * @param wasmFile where the built code points at engine.wasm outside the bundle (the library build
 *   refers to the package's one copy instead of emitting its own): the digest is of that file
 */
export function recordCodeDigests(wasmFile?: string): Plugin {
  return {
    name: 'perso-record-code-digests',
    enforce: 'post',
    generateBundle(_, bundle) {
      let wasm: string | null = null;
      let worker: string | null = null;
      let approvals: string | null = null;
      let reference: string | null = null;
      for (const output of Object.values(bundle)) {
        const name = output.fileName.split('/').pop() ?? '';
        if (output.type === 'asset' && /^engine[-.].*wasm$/.test(name))
          wasm = sha256(output.source);
        if (output.type === 'asset' && /^evaluator\.worker[-.].*\.js$/.test(name))
          worker = sha256(output.source);
        if (output.type === 'asset' && /^worker-approvals[-.].*\.js$/.test(name))
          approvals = sha256(output.source);
        if (output.type === 'asset' && /^worker-reference[-.].*\.js$/.test(name))
          reference = sha256(output.source);
      }
      if (wasm === null && wasmFile !== undefined) wasm = sha256(readFileSync(wasmFile));
      for (const output of Object.values(bundle)) {
        if (output.type !== 'chunk') continue;
        let code = output.code;
        if (code.includes(WASM_PLACEHOLDER)) {
          if (wasm === null)
            this.error(
              `${output.fileName} checks engine.wasm, but this build emitted no engine wasm asset`,
            );
          code = code.replaceAll(WASM_PLACEHOLDER, wasm);
        }
        if (code.includes(WORKER_PLACEHOLDER)) {
          if (worker === null)
            this.error(
              `${output.fileName} checks the evaluator worker, but this build emitted no evaluator worker file`,
            );
          code = code.replaceAll(WORKER_PLACEHOLDER, worker);
        }
        if (code.includes(APPROVALS_PLACEHOLDER)) {
          if (approvals === null)
            this.error(
              `${output.fileName} names the worker's approvals, but this build emitted no worker-approvals file (add vite.worker-module.ts's plugin)`,
            );
          code = code.replaceAll(APPROVALS_PLACEHOLDER, approvals);
        }
        if (code.includes(REFERENCE_PLACEHOLDER)) {
          if (reference === null)
            this.error(
              `${output.fileName} names the worker's JS fallback, but this build emitted no worker-reference file (add vite.worker-module.ts's plugin)`,
            );
          code = code.replaceAll(REFERENCE_PLACEHOLDER, reference);
        }
        output.code = code;
      }
      // The worker's lazy chunks, now that their bytes are final.
      const chunks = Object.values(bundle).filter((output) => output.type === 'chunk');
      for (const output of chunks) {
        if (!output.code.includes(CHUNK_PLACEHOLDER)) continue;
        output.code = output.code.replace(
          new RegExp(`${CHUNK_PLACEHOLDER}([a-z0-9-]+)`, 'g'),
          (_, name: string) => {
            const isModule = (id: string) => new RegExp(`/${name}\\.ts$`).test(id);
            if (output.moduleIds.some(isModule)) return 'inline';
            const target = chunks.find(
              (chunk) =>
                chunk !== output && chunk.facadeModuleId !== null && isModule(chunk.facadeModuleId),
            );
            if (target === undefined)
              this.error(
                `${output.fileName} loads the chunk "${name}", but this build emitted no chunk for src/**/${name}.ts`,
              );
            if (target.code.includes(CHUNK_PLACEHOLDER))
              this.error(
                `${target.fileName} has a chunk placeholder of its own; load lazy chunks from the worker's entry only`,
              );
            const file = posix.relative(posix.dirname(output.fileName), target.fileName);
            return `${sha256(target.code)} ${file.startsWith('.') ? file : `./${file}`}`;
          },
        );
      }
    },
  };
}

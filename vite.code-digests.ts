// Records the SHA-256 of the code perso loads in a page (see src/backend/code-integrity.ts): in every
// built chunk, the placeholders of src/backend/code-integrity.ts become the base64 digests of the
// engine.wasm, evaluator worker and worker module files (vite.worker-module.ts) this same build
// emits. Used by every Vite build that ships the worker (the browser library, the embed, the demo),
// for the page's build and for the worker's own.
//
// Invariants:
// - the digests are of the emitted bytes, after minification (generateBundle, post): what a server
//   serves is what is checked;
// - a digest has the placeholder's length, so source maps stay exact;
// - a chunk that still needs a digest the bundle cannot give fails the build: never a silent
//   unchecked build.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Plugin } from 'vite';

/** Each recorded file: its placeholder, the emitted file's name, and what a build error calls it. */
const RECORDED = [
  {
    placeholder: 'PERSO-DIGEST:engine.wasm:0000000000000000000',
    file: /^engine[-.].*wasm$/,
    what: 'engine.wasm',
  },
  {
    placeholder: 'PERSO-DIGEST:evaluator-worker:00000000000000',
    file: /^evaluator\.worker[-.].*\.js$/,
    what: 'the evaluator worker',
  },
  {
    placeholder: 'PERSO-DIGEST:worker-approvals:00000000000000',
    file: /^worker-approvals[-.].*\.js$/,
    what: "the worker's approvals (add vite.worker-module.ts's plugin)",
  },
  {
    placeholder: 'PERSO-DIGEST:worker-webauthn:000000000000000',
    file: /^worker-webauthn[-.].*\.js$/,
    what: "the worker's WebAuthn verifier (add vite.worker-module.ts's plugin)",
  },
  {
    placeholder: 'PERSO-DIGEST:worker-results:0000000000000000',
    file: /^worker-results[-.].*\.js$/,
    what: "the worker's result code (add vite.worker-module.ts's plugin)",
  },
  {
    placeholder: 'PERSO-DIGEST:worker-batch:000000000000000000',
    file: /^worker-batch[-.].*\.js$/,
    what: "the worker's batch code (add vite.worker-module.ts's plugin)",
  },
  {
    placeholder: 'PERSO-DIGEST:worker-reference:00000000000000',
    file: /^worker-reference[-.].*\.js$/,
    what: "the worker's JS fallback (add vite.worker-module.ts's plugin)",
  },
];

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
      const digests = new Map<string, string>();
      for (const output of Object.values(bundle)) {
        const name = output.fileName.split('/').pop() ?? '';
        const recorded = RECORDED.find(({ file }) => file.test(name));
        if (output.type === 'asset' && recorded !== undefined)
          digests.set(recorded.placeholder, sha256(output.source));
      }
      const wasm = RECORDED[0]!.placeholder;
      if (!digests.has(wasm) && wasmFile !== undefined)
        digests.set(wasm, sha256(readFileSync(wasmFile)));
      for (const output of Object.values(bundle)) {
        if (output.type !== 'chunk') continue;
        let code = output.code;
        for (const { placeholder, what } of RECORDED) {
          if (!code.includes(placeholder)) continue;
          const digest = digests.get(placeholder);
          if (digest === undefined)
            this.error(`${output.fileName} checks ${what}, but this build emitted no such file`);
          code = code.replaceAll(placeholder, digest);
        }
        output.code = code;
      }
    },
  };
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const wasm = readFileSync(new URL('../engine/build/engine.wasm', import.meta.url));

test('engine.wasm imports nothing but env.abort (the release build: nothing; a failed check traps)', () => {
  const imports = WebAssembly.Module.imports(new WebAssembly.Module(wasm));
  assert.deepEqual(
    imports.map((i) => `${i.module}.${i.name}`).filter((name) => name !== 'env.abort'),
    [],
  );
});

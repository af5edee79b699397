// WasmMemory.encode writes text into the engine's memory as UTF-8, four ASCII units at a time where
// it can: the bytes must be TextEncoder's wherever the first non-ASCII unit falls, and nothing past
// them may be touched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../src/engine/engine.ts';
import { loadEngineModule } from '../src/engine/engine-module.ts';

const engine = await Engine.create(await loadEngineModule());
const mem = engine.mem;

test('encode writes the same bytes as TextEncoder wherever the first non-ASCII unit falls', () => {
  const ptr = mem.put(new Uint8Array(256));
  const enc = new TextEncoder();
  const others = ['é', '\u00ff', '\u0800', '€', '😀', '\u007f'];
  for (let n = 0; n <= 13; n++) {
    for (let at = 0; at <= n; at++) {
      for (const other of others) {
        const text = 'GB33BUKB20201'.slice(0, n).split('');
        if (at < n) text[at] = other;
        const s = text.join('');
        mem.views();
        mem.u8.fill(0xaa, ptr, ptr + 256);
        const want = enc.encode(s);
        const len = mem.encode(s, ptr);
        assert.equal(len, want.length, JSON.stringify(s));
        assert.deepEqual(mem.u8.slice(ptr, ptr + len), want, JSON.stringify(s));
        assert.equal(mem.u8[ptr + len], 0xaa, `byte after ${JSON.stringify(s)} untouched`);
      }
    }
  }
});

test('encode writes the same bytes as TextEncoder for long texts (the native encoder) too', () => {
  const ptr = mem.put(new Uint8Array(4 * 1024));
  const enc = new TextEncoder();
  const base = 'GB33BUKB20201555555555 pay to the account '.repeat(30);
  for (const n of [31, 32, 33, 40, 64, 1000]) {
    for (const other of ['', 'é', '€', '😀', '\uD800']) {
      for (const at of [0, n >> 1, n - 1]) {
        const s = base.slice(0, at) + other + base.slice(at, n);
        mem.views();
        mem.u8.fill(0xaa, ptr, ptr + 4 * 1024);
        const want = enc.encode(s);
        const len = mem.encode(s, ptr);
        assert.equal(len, want.length, `${n} units, ${JSON.stringify(other)} at ${at}`);
        assert.deepEqual(mem.u8.slice(ptr, ptr + len), want);
        assert.equal(mem.u8[ptr + len], 0xaa, 'the byte after the text is untouched');
      }
    }
  }
});

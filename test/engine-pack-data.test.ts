// engine/pack-data.js (run by `npm run build:engine`): the shipped engine.wasm has its data in one
// packed segment that the engine unpacks at start into the memory the unpacked module starts with,
// and the packer refuses what it does not understand instead of writing it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const packer = join(root, 'engine/pack-data.js');

/** The number of segments in the module's data section. */
function dataSegments(wasm: Uint8Array): number {
  let at = 8;
  const u32 = (): number => {
    let value = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = wasm[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  while (at < wasm.length) {
    const id = wasm[at++];
    const size = u32();
    if (id === 11) return u32();
    at += size;
  }
  return 0;
}

test('the built engine.wasm carries its data in one segment and still compiles', async () => {
  const wasm = readFileSync(join(root, 'engine/build/engine.wasm'));
  assert.equal(dataSegments(wasm), 1);
  await WebAssembly.compile(wasm);
});

/** The module's memory once instantiated (its start function run), its imports trapping. */
async function startedMemory(wasm: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const module = await WebAssembly.compile(wasm);
  const trap = () => {
    throw new Error('an import was called at start');
  };
  const imports: Record<string, Record<string, () => never>> = {};
  for (const { module: name, name: field } of WebAssembly.Module.imports(module))
    (imports[name] ??= {})[field] = trap;
  const instance = await WebAssembly.instantiate(module, imports);
  return new Uint8Array((instance.exports.memory as WebAssembly.Memory).buffer.slice(0));
}

test('a packed module starts with the memory of the module before packing, byte for byte', async () => {
  // The debug build is not packed and carries the same unpacker: pack a copy of it.
  const dir = mkdtempSync(join(tmpdir(), 'perso-pack-'));
  const copy = join(dir, 'engine.debug.wasm');
  const unpacked = readFileSync(join(root, 'engine/build/engine.debug.wasm'));
  writeFileSync(copy, unpacked);
  execFileSync(process.execPath, [packer, copy], { stdio: 'pipe' });
  const packed = readFileSync(copy);
  assert.equal(dataSegments(packed), 1);
  assert.ok(packed.length < unpacked.length - 10_000, `${packed.length} vs ${unpacked.length}`);
  const before = await startedMemory(unpacked);
  assert.ok(before.some((byte) => byte !== 0));
  assert.deepEqual(await startedMemory(packed), before);
});

test('packing twice changes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perso-pack-'));
  const copy = join(dir, 'engine.wasm');
  const wasm = readFileSync(join(root, 'engine/build/engine.wasm'));
  writeFileSync(copy, wasm);
  execFileSync(process.execPath, [packer, copy], { stdio: 'pipe' });
  assert.deepEqual(readFileSync(copy), wasm);
});

test('a file that is not a wasm binary is refused and left as it was', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perso-pack-'));
  const file = join(dir, 'not.wasm');
  writeFileSync(file, 'not wasm at all');
  assert.throws(
    () => execFileSync(process.execPath, [packer, file], { stdio: 'pipe' }),
    /is not a wasm binary/,
  );
  assert.equal(readFileSync(file, 'utf8'), 'not wasm at all');
});

test('a module without a data section is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perso-pack-'));
  const file = join(dir, 'empty.wasm');
  const empty = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  writeFileSync(file, empty);
  assert.throws(
    () => execFileSync(process.execPath, [packer, file], { stdio: 'pipe' }),
    /has no data segments/,
  );
  assert.deepEqual(readFileSync(file), empty);
});

// `node engine/pack-data.js engine/build/engine.wasm`: rewrites the module's data section as one
// active segment, in place. Run by `npm run build:engine` after the release build.
//
// Why: AssemblyScript emits each static object (every message string, with its 16-byte header) as
// its own data segment, and Binaryen's memory packing splits them further around runs of zeros,
// which saves raw bytes but leaves ~700 segments whose offsets and lengths gzip poorly. One segment
// holding the same bytes, the gaps between them filled with zeros, initializes memory exactly as
// before (a fresh memory is zeros) and is about 1.9 KiB smaller gzipped.
//
// Checklist (any other input is an error and the build fails; nothing is written):
// - a wasm binary, version 1, with at most one data section;
// - every segment active, for memory 0, at an `i32.const` offset; segments do not overlap;
// - the data count section, when present, is rewritten to 1;
// - the result passes `WebAssembly.validate`, and every segment's bytes sit at its offset in it.
import { readFileSync, writeFileSync } from 'node:fs';

const path = process.argv[2];
if (path === undefined) throw new Error('usage: node engine/pack-data.js <module.wasm>');
const wasm = readFileSync(path);
if (wasm.readUInt32LE(0) !== 0x6d736100 || wasm.readUInt32LE(4) !== 1)
  throw new Error(`${path} is not a wasm binary (version 1)`);

let at = 8;
const readU32 = () => {
  let value = 0;
  let shift = 0;
  let byte;
  do {
    byte = wasm[at++];
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return value;
};
// Signed LEB128: the unsigned reading, sign-extended from the last byte's bit 6.
const readI32 = () => {
  const start = at;
  const value = readU32();
  const bits = 7 * (at - start);
  return wasm[at - 1] & 0x40 ? value - 2 ** bits : value;
};
const u32 = (value) => {
  const out = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
};
const i32 = (value) => {
  const out = [];
  for (;;) {
    const byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
};
const section = (id, body) => Buffer.concat([Buffer.from([id, ...u32(body.length)]), body]);

const parts = [wasm.subarray(0, 8)];
let segments = null;
while (at < wasm.length) {
  const start = at;
  const id = wasm[at++];
  const size = readU32();
  const end = at + size;
  if (id === 11) {
    if (segments !== null) throw new Error('more than one data section');
    segments = [];
    const count = readU32();
    for (let i = 0; i < count; i++) {
      if (readU32() !== 0)
        throw new Error(`data segment ${i} is not an active segment of memory 0`);
      if (wasm[at++] !== 0x41)
        throw new Error(`data segment ${i} has an offset that is not i32.const`);
      const offset = readI32();
      if (wasm[at++] !== 0x0b)
        throw new Error(`data segment ${i} has an offset expression longer than i32.const`);
      const length = readU32();
      segments.push({ offset, bytes: wasm.subarray(at, at + length) });
      at += length;
    }
    if (at !== end) throw new Error('the data section has bytes after its segments');
    parts.push(null); // the merged section goes here
  } else if (id === 12) {
    parts.push(section(12, Buffer.from(u32(1))));
  } else {
    parts.push(wasm.subarray(start, end));
  }
  at = end;
}
if (segments === null || segments.length === 0) throw new Error(`${path} has no data segments`);

segments.sort((a, b) => a.offset - b.offset);
const low = segments[0].offset;
const last = segments[segments.length - 1];
const memory = Buffer.alloc(last.offset + last.bytes.length - low);
let covered = low;
for (const { offset, bytes } of segments) {
  if (offset < covered) throw new Error(`data segments overlap at offset ${offset}`);
  bytes.copy(memory, offset - low);
  covered = offset + bytes.length;
}
const merged = section(
  11,
  Buffer.concat([
    Buffer.from([...u32(1), 0, 0x41, ...i32(low), 0x0b, ...u32(memory.length)]),
    memory,
  ]),
);
const packed = Buffer.concat(parts.map((part) => part ?? merged));

if (!WebAssembly.validate(packed)) throw new Error('the packed module does not validate');
for (const { offset, bytes } of segments) {
  if (!memory.subarray(offset - low, offset - low + bytes.length).equals(bytes))
    throw new Error(`segment at ${offset} was not copied`);
}
writeFileSync(path, packed);
console.log(
  `${path}: ${segments.length} data segments packed into 1 (${wasm.length} -> ${packed.length} bytes)`,
);

// `node engine/pack-data.js engine/build/engine.wasm`: rewrites the module's static data in a
// compact form that engine/assembly/static-data.ts unpacks at start, in place. Run by
// `npm run build:engine` after the release build.
//
// Why: AssemblyScript stores each static object (every message string, in UTF-16 with a 20-byte
// header) as its own data segment, and Binaryen splits them further around runs of zeros: ~700
// segments whose offsets, lengths, headers and zero high bytes gzip poorly. Here the memory they
// describe is written as one segment at the end of the initial memory: each string as its units
// (one byte each from 2 to 0x7f, 0x80 and the u16 for any other) and a 0 byte, whatever else lies
// between as raw runs (a 1 byte, a u16 length, the bytes), an empty run last, then the u32 address
// of the first byte and the u32 length of it all. At start the engine writes the strings (headers included) and the runs back
// where they were and zeroes the packed form.
//
// Checklist (any other input is an error and the build fails; nothing is written):
// - a wasm binary, version 1, with one memory and at most one data section;
// - every segment active, for memory 0, at an `i32.const` offset; segments do not overlap;
// - the packed form fits between the static data and the end of the initial memory;
// - the data count section, when present, is rewritten to 1;
// - the result passes `WebAssembly.validate`, and once both are instantiated (start function run)
//   its memory is byte for byte the unpacked module's;
// - a module packed already is left as it is.
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
let pages = null;
while (at < wasm.length) {
  const start = at;
  const id = wasm[at++];
  const size = readU32();
  const end = at + size;
  if (id === 5) {
    if (readU32() !== 1) throw new Error('the module does not have exactly one memory');
    at++; // limits flags
    pages = readU32();
    parts.push(wasm.subarray(start, end));
  } else if (id === 11) {
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
    parts.push(null); // the packed section goes here
  } else if (id === 12) {
    parts.push(section(12, Buffer.from(u32(1))));
  } else {
    parts.push(wasm.subarray(start, end));
  }
  at = end;
}
if (segments === null || segments.length === 0) throw new Error(`${path} has no data segments`);
if (pages === null) throw new Error(`${path} has no memory`);
const memoryEnd = pages * 65536;

// Packed already: one segment ending at the memory's end, whose last word is its own length.
if (segments.length === 1) {
  const { offset, bytes } = segments[0];
  if (
    offset + bytes.length === memoryEnd &&
    bytes.readUInt32LE(bytes.length - 4) === bytes.length
  ) {
    console.log(`${path}: packed already`);
    process.exit(0);
  }
}

segments.sort((a, b) => a.offset - b.offset);
const low = segments[0].offset;
const last = segments[segments.length - 1];
const image = Buffer.alloc(last.offset + last.bytes.length - low);
let covered = low;
for (const { offset, bytes } of segments) {
  if (offset < covered) throw new Error(`data segments overlap at offset ${offset}`);
  bytes.copy(image, offset - low);
  covered = offset + bytes.length;
}

// AssemblyScript's class id of String, and a string's block size (after its first word) for a
// byte length: its 20-byte header and units, rounded so that the next payload is 16-aligned.
const STRING_ID = 2;
const stringBlock = (bytes) => ((bytes + 35) & ~15) - 4;

/** The string object at `p` of the image, as its UTF-16 units, or null if there is none there. */
function stringAt(p) {
  if (p + 20 > image.length) return null;
  const block = image.readUInt32LE(p);
  const bytes = image.readUInt32LE(p + 16);
  if (image.readUInt32LE(p + 12) !== STRING_ID || bytes % 2 !== 0) return null;
  if (block !== stringBlock(bytes) || p + 20 + bytes > image.length) return null;
  // What the unpacker does not write must be zero: the two GC words and the padding.
  if (image.readUInt32LE(p + 4) !== 0 || image.readUInt32LE(p + 8) !== 0) return null;
  for (let q = p + 20 + bytes; q < Math.min(p + 4 + block, image.length); q++)
    if (image[q] !== 0) return null;
  const units = [];
  for (let q = p + 20; q < p + 20 + bytes; q += 2) units.push(image.readUInt16LE(q));
  return units;
}

const packedBytes = [];
let raw = [];
const flushRaw = () => {
  for (let i = 0; i < raw.length; i += 0xffff) {
    const run = raw.slice(i, i + 0xffff);
    packedBytes.push(1, run.length & 0xff, run.length >> 8, ...run);
  }
  raw = [];
};
let strings = 0;
for (let p = 0; p < image.length; ) {
  const units = stringAt(p);
  if (units === null) {
    raw.push(image[p]);
    p++;
    continue;
  }
  flushRaw();
  for (const c of units) {
    if (c >= 2 && c < 0x80) packedBytes.push(c);
    else packedBytes.push(0x80, c & 0xff, c >> 8);
  }
  packedBytes.push(0);
  strings++;
  p += 4 + image.readUInt32LE(p);
}
flushRaw();
packedBytes.push(1, 0, 0);
const trailer = Buffer.alloc(8);
trailer.writeUInt32LE(low, 0);
trailer.writeUInt32LE(packedBytes.length + 8, 4);
const packedData = Buffer.concat([Buffer.from(packedBytes), trailer]);
const from = memoryEnd - packedData.length;
if (from < low + image.length)
  throw new Error(
    `the packed data (${packedData.length} bytes) does not fit between the static data ` +
      `(ending at ${low + image.length}) and the end of the initial memory (${memoryEnd})`,
  );

const packedSection = section(
  11,
  Buffer.concat([
    Buffer.from([...u32(1), 0, 0x41, ...i32(from), 0x0b, ...u32(packedData.length)]),
    packedData,
  ]),
);
const packed = Buffer.concat(parts.map((part) => part ?? packedSection));

if (!WebAssembly.validate(packed)) throw new Error('the packed module does not validate');
/** The module's memory once instantiated (its start function run); imported functions trap. */
function startedMemory(bytes) {
  const module = new WebAssembly.Module(bytes);
  const imports = {};
  for (const { module: name, name: field, kind } of WebAssembly.Module.imports(module)) {
    if (kind !== 'function') throw new Error(`the module imports a ${kind}, ${name}.${field}`);
    imports[name] ??= {};
    imports[name][field] = () => {
      throw new Error(`${name}.${field} called at start`);
    };
  }
  const { exports } = new WebAssembly.Instance(module, imports);
  const memory = Object.values(exports).find((value) => value instanceof WebAssembly.Memory);
  if (memory === undefined) throw new Error('the module exports no memory');
  return new Uint8Array(memory.buffer);
}
if (!Buffer.from(startedMemory(packed)).equals(Buffer.from(startedMemory(wasm))))
  throw new Error('memory after start differs from the unpacked module: nothing written');
writeFileSync(path, packed);
console.log(
  `${path}: ${segments.length} data segments (${strings} strings) packed into ` +
    `${packedData.length} bytes at ${from} (${wasm.length} -> ${packed.length} bytes)`,
);

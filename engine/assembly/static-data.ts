// The engine's static data (its message strings above all), unpacked before anything else runs.
// engine/pack-data.js stores the static objects compactly at the end of the initial memory: each
// string as its 16-bit units, one byte each from 2 to 0x7f and 0x80 and the u16 for any other, and
// a 0 byte; whatever lies between as raw runs (a 1 byte, a u16 length, the bytes); an empty raw run
// last; then the u32 address of the first object and, in the memory's last 4 bytes, the u32 length
// of the whole packed form. This writes the objects back (string headers included) and zeroes the
// packed form.
//
// Invariants:
// - runs first (index.ts imports this file first), reads no static data and allocates nothing
// - a module that was not packed (the debug build) has 0 in its last 4 bytes: nothing to do
// - pack-data.js fails the build unless memory after start is byte for byte the unpacked module's

function unpackStaticData(): void {
  const end = (<usize>memory.size()) << 16;
  const from = end - <usize>load<u32>(end - 4);
  if (from == end) return;
  let src = from;
  let dst = <usize>load<u32>(end - 8);
  for (;;) {
    if (load<u8>(src) == 1) {
      const n = <usize>load<u16>(src, 1);
      memory.copy(dst, src + 3, n);
      if (n == 0) break;
      src += 3 + n;
      dst += n;
      continue;
    }
    // A string: 20 bytes of header (block size, two zero words, class id, byte length), its units.
    const text = dst + 20;
    let at = text;
    for (;;) {
      let c = <u32>load<u8>(src);
      src++;
      if (c == 0) break;
      if (c >= 0x80) {
        c = <u32>load<u16>(src);
        src += 2;
      }
      store<u16>(at, <u16>c);
      at += 2;
    }
    const size = <u32>(at - text);
    // The block's size after its first word, so that the next object's payload is 16-aligned.
    const block = ((size + 35) & ~15) - 4;
    store<u32>(dst, block);
    store<u32>(dst, idof<string>(), 12);
    store<u32>(dst, size, 16);
    dst += 4 + <usize>block;
  }
  memory.fill(from, 0, end - from);
}

unpackStaticData();

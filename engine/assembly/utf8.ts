// Strict UTF-8 over bytes in linear memory: no overlong forms, no encoded surrogates, nothing
// above U+10FFFF, no truncated sequence.

/** Byte length of a UTF-8 sequence from its lead byte. */
export function utf8Width(lead: i32): i32 {
  return lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
}

/** Decodes one strict UTF-8 sequence at `ptr + i` (lead byte ≥ 0x80); -1 when invalid. */
export function decodeUtf8(ptr: usize, i: i32, len: i32): i32 {
  const b0 = <i32>load<u8>(ptr + <usize>i);
  let need: i32;
  let lo: i32 = 0x80;
  let hi: i32 = 0xbf;
  let cp: i32;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    need = 1;
    cp = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    need = 2;
    cp = b0 & 0x0f;
    if (b0 == 0xe0) lo = 0xa0; // overlong
    if (b0 == 0xed) hi = 0x9f; // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    need = 3;
    cp = b0 & 0x07;
    if (b0 == 0xf0) lo = 0x90; // overlong
    if (b0 == 0xf4) hi = 0x8f; // above U+10FFFF
  } else {
    return -1;
  }
  if (i + need >= len) return -1; // truncated sequence
  for (let k = 1; k <= need; k++) {
    const b = <i32>load<u8>(ptr + <usize>(i + k));
    if (k == 1) {
      if (b < lo || b > hi) return -1;
    } else if ((b & 0xc0) != 0x80) {
      return -1;
    }
    cp = (cp << 6) | (b & 0x3f);
  }
  return cp;
}

/** Validates a whole byte range as UTF-8 and decodes it; null when invalid. */
export function decodeUtf8String(ptr: usize, len: i32): string | null {
  let i = 0;
  while (i < len) {
    const c = <i32>load<u8>(ptr + <usize>i);
    if (c < 0x80) {
      i++;
      continue;
    }
    if (decodeUtf8(ptr, i, len) < 0) return null;
    i += utf8Width(c);
  }
  return String.UTF8.decodeUnsafe(ptr, <usize>len);
}

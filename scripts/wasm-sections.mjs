// Reads a wasm binary's sections, for the build (scripts/wasm-trim.mjs: imports and exports) and
// the benchmarks (bench/compile-trace.mjs: function names).

/** A cursor over `bytes` from `p`: unsigned LEB128 integers, bytes and length-prefixed strings. */
export function cursor(bytes, p = 0) {
  const c = {
    get p() { return p; },
    set p(v) { p = v; },
    byte: () => bytes[p++],
    leb: () => { let r = 0, s = 0, x; do { x = bytes[p++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80); return r; },
    str: () => { const n = c.leb(); const t = bytes.subarray(p, p + n).toString(); p += n; return t; },
  };
  return c;
}

/** Each section after the 8-byte header: its id, a cursor at its contents, and where it ends. */
export function* sections(bytes) {
  const c = cursor(bytes, 8);
  while (c.p < bytes.length) {
    const id = c.byte(), len = c.leb(), end = c.p + len;
    yield { id, at: cursor(bytes, c.p), end };
    c.p = end;
  }
}

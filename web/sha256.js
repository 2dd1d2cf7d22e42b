/* Incremental SHA-256 (FIPS 180-4) for the upload page.
 *
 * Written for Vigil (not vendored); MIT licence, like the rest of the project (Cargo.toml).
 * Why not crypto.subtle: its digest() takes the whole input at once, so a drone orthomosaic of
 * several gigabytes would have to be read into memory. This hashes a File slice by slice.
 *
 * Plain script for windows and workers: defines VigilSha256 on `self` (the window or the worker):
 *   const h = new VigilSha256.Sha256(); h.update(u8a); h.update(u8b); h.hex()  // 64 hex digits
 *   VigilSha256.hex(bytes)                                                    // one shot
 * update() takes a Uint8Array or an ArrayBuffer, any length, any number of times; hex()/digest()
 * end the hash (a finished hash refuses more input). Checked against the FIPS 180-4 / NIST vectors
 * in tests/browser/upload.mjs.
 */
(function (root) {
  'use strict';

  // First 32 bits of the fractional parts of the cube roots of the first 64 primes.
  const K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);

  // First 32 bits of the fractional parts of the square roots of the first 8 primes.
  const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

  /** Hashes the 64-byte blocks d[from..to) into the state H, using w as scratch. */
  function blocks(H, w, d, from, to) {
    let h0 = H[0], h1 = H[1], h2 = H[2], h3 = H[3], h4 = H[4], h5 = H[5], h6 = H[6], h7 = H[7];
    for (let off = from; off < to; off += 64) {
      for (let t = 0, j = off; t < 16; t++, j += 4) {
        w[t] = (d[j] << 24) | (d[j + 1] << 16) | (d[j + 2] << 8) | d[j + 3];
      }
      for (let t = 16; t < 64; t++) {
        const x = w[t - 15];
        const y = w[t - 2];
        const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
        const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
        w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
      }
      let a = h0, b = h1, c = h2, dd = h3, e = h4, f = h5, g = h6, h = h7;
      for (let t = 0; t < 64; t++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const ch = (e & f) ^ (~e & g);
        const t1 = (h + S1 + ch + K[t] + w[t]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const maj = (a & b) ^ (a & c) ^ (b & c);
        h = g;
        g = f;
        f = e;
        e = (dd + t1) | 0;
        dd = c;
        c = b;
        b = a;
        a = (t1 + S0 + maj) | 0;
      }
      h0 = (h0 + a) | 0;
      h1 = (h1 + b) | 0;
      h2 = (h2 + c) | 0;
      h3 = (h3 + dd) | 0;
      h4 = (h4 + e) | 0;
      h5 = (h5 + f) | 0;
      h6 = (h6 + g) | 0;
      h7 = (h7 + h) | 0;
    }
    H[0] = h0;
    H[1] = h1;
    H[2] = h2;
    H[3] = h3;
    H[4] = h4;
    H[5] = h5;
    H[6] = h6;
    H[7] = h7;
  }

  class Sha256 {
    constructor() {
      this.h = new Int32Array(H0);
      this.w = new Int32Array(64);
      this.buf = new Uint8Array(64); // a block not yet full
      this.bufLen = 0;
      this.length = 0; // bytes hashed so far (exact up to 2^53)
      this.done = false;
    }

    /** Adds bytes to the hash; returns this. */
    update(data) {
      if (this.done) throw new Error('SHA-256: update() after the hash was finished');
      const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
      this.length += bytes.length;
      this._feed(bytes);
      return this;
    }

    _feed(bytes) {
      const n = bytes.length;
      let i = 0;
      if (this.bufLen > 0) {
        const take = Math.min(64 - this.bufLen, n);
        this.buf.set(bytes.subarray(0, take), this.bufLen);
        this.bufLen += take;
        i = take;
        if (this.bufLen < 64) return;
        blocks(this.h, this.w, this.buf, 0, 64);
        this.bufLen = 0;
      }
      const whole = i + ((n - i) & ~63);
      if (whole > i) blocks(this.h, this.w, bytes, i, whole);
      if (whole < n) {
        this.buf.set(bytes.subarray(whole), 0);
        this.bufLen = n - whole;
      }
    }

    /** Ends the hash; returns the 32-byte digest. */
    digest() {
      if (!this.done) {
        // 0x80, zeros up to 56 mod 64, then the length in bits as a 64-bit big-endian number.
        const padLen = this.bufLen < 56 ? 56 - this.bufLen : 120 - this.bufLen;
        const pad = new Uint8Array(padLen + 8);
        pad[0] = 0x80;
        const hi = Math.floor(this.length / 0x20000000); // length * 8 / 2^32
        const lo = (this.length % 0x20000000) * 8;
        const v = new DataView(pad.buffer);
        v.setUint32(padLen, hi >>> 0);
        v.setUint32(padLen + 4, lo >>> 0);
        this._feed(pad);
        this.done = true;
      }
      const out = new Uint8Array(32);
      const v = new DataView(out.buffer);
      for (let i = 0; i < 8; i++) v.setUint32(i * 4, this.h[i] >>> 0);
      return out;
    }

    /** Ends the hash; returns the digest as 64 lower-case hex digits. */
    hex() {
      let s = '';
      for (const b of this.digest()) s += (b < 16 ? '0' : '') + b.toString(16);
      return s;
    }
  }

  root.VigilSha256 = {
    Sha256,
    hex: (bytes) => new Sha256().update(bytes).hex()
  };
})(typeof self !== 'undefined' ? self : this);

/**
 * `combine(crcA, crcB, lengthB)` = CRC of a‖b for a reflected 32-bit CRC with polynomial `poly` (zlib's method:
 * multiply crcA by x^(8·lengthB) mod P), in O(log length).
 */
export function crcCombiner(poly: number): (crcA: number, crcB: number, lengthB: number) => number {
  /** (a · b) mod P over GF(2), reflected bit order. */
  const multModP = (a: number, b: number): number => {
    let m = 0x80000000;
    let p = 0;
    for (;;) {
      if (a & m) {
        p ^= b;
        if ((a & (m - 1)) === 0) break;
      }
      m >>>= 1;
      b = b & 1 ? (b >>> 1) ^ poly : b >>> 1;
    }
    return p >>> 0;
  };
  /** X2N[k] = x^(2^k) mod P. */
  const X2N = new Uint32Array(32);
  let p = 0x40000000; // x^1
  X2N[0] = p;
  for (let k = 1; k < 32; k++) X2N[k] = p = multModP(p, p);
  /** x^(n · 2^k) mod P. */
  const x2nModP = (n: number, k: number): number => {
    let q = 0x80000000; // x^0
    while (n) {
      if (n & 1) q = multModP(X2N[k & 31]!, q);
      n = Math.floor(n / 2);
      k++;
    }
    return q;
  };
  return (crcA, crcB, lengthB) => (lengthB === 0 ? crcA >>> 0 : (multModP(x2nModP(lengthB, 3), crcA) ^ crcB) >>> 0);
}

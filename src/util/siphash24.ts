/**
 * SipHash-2-4 (Aumasson and Bernstein), 64-bit output: the keyed hash systemd uses, here so that a
 * guest's vsock CID can be derived from its machine name exactly as systemd-vmspawn derives it.
 */
const MASK = (1n << 64n) - 1n;

function rotl(value: bigint, bits: bigint): bigint {
  return ((value << bits) | (value >> (64n - bits))) & MASK;
}

function readLittleEndian(bytes: Uint8Array, offset: number, length: number): bigint {
  let value = 0n;
  for (let i = length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[offset + i]!);
  return value;
}

/** The 64-bit SipHash-2-4 of `message` under the 16-byte `key`. */
export function siphash24(message: Uint8Array, key: Uint8Array): bigint {
  if (key.length !== 16) throw new RangeError(`SipHash needs a 16-byte key, got ${key.length} bytes`);
  const k0 = readLittleEndian(key, 0, 8);
  const k1 = readLittleEndian(key, 8, 8);
  let v0 = k0 ^ 0x736f6d6570736575n;
  let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n;
  let v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & MASK; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & MASK; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & MASK; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & MASK; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const compress = (word: bigint) => {
    v3 ^= word;
    round();
    round();
    v0 ^= word;
  };
  const whole = message.length - (message.length % 8);
  for (let offset = 0; offset < whole; offset += 8) compress(readLittleEndian(message, offset, 8));
  compress((BigInt(message.length & 0xff) << 56n) | readLittleEndian(message, whole, message.length - whole));
  v2 ^= 0xffn;
  for (let i = 0; i < 4; i++) round();
  return v0 ^ v1 ^ v2 ^ v3;
}

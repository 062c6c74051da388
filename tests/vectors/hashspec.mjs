// Generates test vectors for the extension's checksum (src/core/canonical.rs): random JSON
// documents, written with varied number spellings (1.50, 15e-1, 1E+21, -0, ...) and keys
// from every region of Unicode that orders differently in UTF-8 and UTF-16, each with
// ObjectStack's `hashSpec` of what `JSON.parse` makes of the text. Every number is one a
// double holds exactly (by construction: a spelling of a double's shortest form).
//
// Usage (from clients/objectstack, where @objectstack/metadata-core is installed):
//   node ../../tests/vectors/hashspec.mjs > ../../src/core/testdata/hashspec_vectors.json
import { hashSpec } from '@objectstack/metadata-core';

let seed = 0x5eed1234;
const rand = () => {
  // xorshift32: reproducible vectors.
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 0x100000000;
};
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const chars = ['a', 'b', 'Z', '_', '1', ' ', 'é', 'ß', '中', '\uE000', '\uFB01', '\uFFFD',
  '\u{1F600}', '\u{1D11E}', '\u{10000}', '"', '\\', '/', '\n', '\t', '\u0001', '\u001f', '\u007f',
  '\u2028', '\u00a0'];
const str = () => Array.from({ length: Math.floor(rand() * 6) }, () => pick(chars)).join('');

const doubles = () => pick([
  () => Math.floor(rand() * 1000) - 500,
  () => (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20),
  () => Math.floor(rand() * 2 ** 53) * pick([1, -1]),
  () => 2 ** Math.floor(rand() * 60 + 53),
  () => pick([0, -0, 0.1, 0.5, 1.5, 1e21, 1e-7, 1e-6, 123e20, 5e-324, 1.7976931348623157e308,
    4.35, 0.000001, 9007199254740992, 1 / 3, 100, 1e2, 2.5e-8]),
])();

// Spellings of the decimal value of String(x) (the shortest form, which denotes x).
function spell(x) {
  const s = String(x);
  if (x === 0) return pick(['-0', '0', '-0.0', '0e5', '0.000E+3']);
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(s);
  const [, sign, int, frac = '', exp = '0'] = m;
  const digits = (int + frac).replace(/^0+(?=\d)/, '');
  const e = Number(exp) - frac.length; // value = digits × 10^e
  return pick([
    () => s,
    () => s.replace('e', 'E'),
    () => (frac ? `${sign}${int}.${frac}${'0'.repeat(1 + Math.floor(rand() * 3))}${exp !== '0' ? 'e' + exp : ''}` : s),
    () => `${sign}${digits}e${e}`,
    () => `${sign}${digits}${'0'.repeat(2)}e${e - 2}`,
    () => `${sign}0.${digits}e${e + digits.length}`,
    () => (e >= 0 && e < 25 ? `${sign}${digits}${'0'.repeat(e)}` : s),
    () => (e >= 0 && e < 25 ? `${sign}${digits}${'0'.repeat(e)}.0` : s),
  ])();
}

function value(depth) {
  const r = rand();
  if (depth > 3 || r < 0.35) {
    return pick([
      () => spell(doubles()),
      () => JSON.stringify(str()),
      () => pick(['true', 'false', 'null']),
    ])();
  }
  if (r < 0.6) {
    return `[${Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1)).join(',')}]`;
  }
  const keys = new Set(Array.from({ length: Math.floor(rand() * 6) }, str));
  return `{${[...keys].map((k) => `${JSON.stringify(k)}:${value(depth + 1)}`).join(',')}}`;
}

const vectors = [];
for (let i = 0; i < 400; i++) {
  const keys = new Set(Array.from({ length: 1 + Math.floor(rand() * 6) }, str));
  const text = `{${[...keys].map((k) => `${JSON.stringify(k)}:${value(1)}`).join(',')}}`;
  vectors.push({ text, hash: hashSpec(JSON.parse(text)) });
}
process.stdout.write(`[\n${vectors.map((v) => JSON.stringify(v)).join(',\n')}\n]\n`);

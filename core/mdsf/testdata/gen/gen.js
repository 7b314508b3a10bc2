'use strict';

// Records the answers of the reference mdsf (npm mdsf 1.1.1, the JavaScript
// parser and stringify that @metarhia/jstp 2.3.0 peers run) on a corpus of
// texts and values, into ../reference.json, which the Go tests replay.
//
// Run from the repository root after `npm ci --ignore-scripts --prefix interop`:
//
//	node core/mdsf/testdata/gen/gen.js

const fs = require('fs');
const path = require('path');
const { loadMdsf, enc, attempt } = require('./common');

const mdsf = loadMdsf();
const fixtures = path.join(__dirname, '../mdsf-fixtures');

const parseCases = []; // {name, text | b64, ok, value?, out?, error?}
const seen = new Set();

function addText(name, text) {
  if (seen.has(text)) return;
  seen.add(text);
  parseCases.push(Object.assign({ name, text }, attempt(mdsf, text)));
}

function addBytes(name, bytes) {
  const buf = Buffer.from(bytes);
  const r = attempt(mdsf, buf);
  parseCases.push(Object.assign({ name, b64: buf.toString('base64') }, r));
}

// --- Literals and structure -------------------------------------------------

const basics = [
  'true', 'false', 'null', 'undefined', 'nul', 'nulll', 'True', 'NULL',
  'tru', 'truefalse', 'true1', 'undefinedx', 'NaN', 'Infinity', '-Infinity',
  'infinity', 'nan', 'x', '', ' ', '\t', '#', '@', '\\', ')', '}', ']', ',',
  ':', '\u00a0', '\ufeff1', '1\ufeff', '\u20281', 'é', '/', '//', '/*', '/**/',
  '[]', '[ ]', '[\n]', '[1]', '[1,2,3]', '[,]', '[,,]', '[,1]', '[1,]',
  '[1,,]', '[1,,2]', '[,,1,,]', '[ , ]', '[ ,1 , , ]', '[1 2]', '[1,2',
  '[1,', '[', ']', '[[]]', '[[],[[]]]', '[]]', '[[]', '[}', '[1:2]',
  '{}', '{ }', '{\n}', '{a:1}', '{ a:1}', '{a:1 }', '{a :1}', '{a: 1}',
  '{a:1,}', '{a:1, }', '{a:1 ,}', '{a:1,,}', '{,}', '{,a:1}', '{a:1,b:2}',
  '{a:1 b:2}', '{a}', '{a:}', '{a:,}', '{:1}', '{1:2}', '{-1:2}',
  "{'1':2}", '{"a":1}', "{'a b':1}", "{'':1}", '{a-b:1}', '{$:1}', '{_:1}',
  '{$a_1:1}', '{A:1}', '{é:1}', '{a1:1}', '{while:1}', '{true:1}',
  '{null:1}', '{a:1', '{a:1,', '{a', '{', '}', '{{}}', '{a:{}}', '{a:[]}',
  '{a:{b:{c:[1,{d:2}]}}}', '{a:undefined}', '{a:undefined,b:1}',
  '{a:1,a:2}', '{a:1,b:2,a:3}', '{a:1,a:undefined}', '{a:undefined,b:1,a:2}',
  "{b:1,'2':2,'1':3,a:4}", "{'10':1,'9':2,'09':3,'-1':4,'1.5':5}",
  "{'4294967294':1,'4294967295':2,'0':3}", "{'__proto__':1,a:2}",
  '{__proto__:{a:1},b:2}', '{__proto__:null}', '{constructor:1}',
  '{toString:1,hasOwnProperty:2}', "{'a\\nb':1}", "{'\\u0041':1}",
  "{'\\ud800':1}", "{a\n:1}", '{a/**/:1}', "{'a' :1}", "{'a':1}",
  '{a:1}{b:2}', '[1]1', '1 2', '1,2', '"a" "b"', '{a:1}\u0000',
  '{a:1}\u0000{b:2}', '\u0000', '[\u00001]',
];
basics.forEach(t => addText('basic', t));

// --- Strings and escapes ------------------------------------------------------

const strBodies = [
  '', 'abc', 'a"b', "a\\'b", 'a\\"b', '\\\\', '\\b\\f\\n\\r\\t\\v',
  '\\a\\c\\d\\e\\g\\h\\i\\j\\k\\l\\m\\p\\q\\s\\w\\y\\z\\/\\?\\ \\#',
  '\\0', '\\00', '\\000', '\\0000', '\\1', '\\12', '\\123', '\\1234', '\\7',
  '\\77', '\\777', '\\400', '\\08', '\\8', '\\9', '\\18', '\\0a', '\\x00',
  '\\x41', '\\xff', '\\xFf', '\\x4', '\\x', '\\xg1', '\\x4g', '\\u0041',
  '\\u00e9', '\\uFFFF', '\\uffff', '\\ufeff', '\\u2028\\u2029', '\\u004',
  '\\u', '\\u00g1', '\\uD83D\\uDE00', '\\ud83d\\ude00', '\\uD83D',
  '\\uDE00', '\\uDE00\\uD83D', '\\uD83Dx\\uDE00', '\\uD83D\\uD83D\\uDE00',
  '\\u{0}', '\\u{41}', '\\u{1F600}', '\\u{10FFFF}', '\\u{110000}',
  '\\u{0010FFFF}', '\\u{00000041}', '\\u{000000041}', '\\u{}', '\\u{',
  '\\u{41', '\\u{4g}', '\\u{D800}', '\\u{D83D}\\u{DE00}', '\\uD83D\\u{DE00}',
  '\\u{D83D}\\uDE00', '\\u{dc00}', '\\\n', '\\\r\n', '\\\r', '\\\u2028',
  '\\é', '\\😀', '😀', 'é', '\u0000', '\u0001\u001f\u007f', '\n\r\t',
  '\u2028\u2029', 'line1\nline2', '\ufeff', '\ud7ff\ue000\ufffd',
  'tab\there', '\\', '\\\\\\', "'", '"', '\\u0022\\u0027\\u005c',
  '\\x22\\x27\\x5c', '\\042\\047\\134', '/*not a comment*/', '//nor this',
];
for (const body of strBodies) {
  addText('string', `'${body}'`);
  addText('string', `"${body}"`);
}
addText('string', "'abc");
addText('string', '"abc');
addText('string', "'abc\"");
addText('string', "'");
addText('string', "'\\'");
addText('string', "'\\");
addText('string', "'\\x4");
addText('string', "'\\u00");
addText('string', "'\\u{1");
addText('string', "'\\0");
addText('string', "'\\01");
let ctl = '';
for (let c = 0; c < 0x20; c++) ctl += String.fromCharCode(c);
addText('string', `'${ctl}\u007f'`);
let allEsc = '';
for (let c = 0; c < 0x80; c++) allEsc += '\\' + String.fromCharCode(c);
addText('string', `'${allEsc.replace("\\'", '')}'`);

// --- Numbers ------------------------------------------------------------------

const numbers = [
  '0', '-0', '+0', '1', '-1', '+1', '123', '00', '01', '-01', '+01', '09',
  '0.0', '-0.0', '0.5', '.5', '-.5', '+.5', '5.', '-5.', '.', '-', '+', '-.',
  '+.', '1.5e3', '1.5E3', '1e', '1e+', '1e-', '1e5', '1E5', '1e+5', '1e-5',
  '1e05', '1.e5', '.1e5', '.e5', 'e5', '1e5.5', '1.2.3', '1e5e5', '1e+5+5',
  '1+1', '1-1', '1-', '1+', '--1', '-+1', '+-1', '++1', '- 1', '1 ', ' 1',
  '1e400', '-1e400', '1e-400', '2e-324', '3e-324', '5e-324', '4.9e-324',
  '1.7976931348623157e308', '1.7976931348623158e308', '1.7976931348623159e308',
  '9007199254740991', '9007199254740992', '9007199254740993',
  '9007199254740995', '18446744073709551615', '18446744073709551616',
  '123456789012345678901234567890', '0.1', '0.2', '0.30000000000000004',
  '1e21', '1e20', '123e20', '1e-6', '1e-7', '1.5e-7', '0.000001',
  '0.0000001', '1234567.891', '100', '1000000000000000000000',
  '999999999999999999999', '0.1e1', '00.5', '0.', '0e5', '0e', '0x', '0x0',
  '0x1', '0xff', '0xFF', '0xAbC', '-0x10', '+0x10', '-0x0', '0X10', '0x1g',
  '0x1.5', '0xffffffffffffffff', '0x1fffffffffffff', '0x20000000000001',
  '0x20000000000003', '0x1000000000000000000000000000000000000000001',
  '0x' + 'f'.repeat(300), '0b', '0b0', '0b1', '0b101', '0b2', '0b12',
  '0B1', '-0b11', '0b' + '1'.repeat(60), '0b' + '1'.repeat(70), '0o',
  '0o7', '0o17', '0o8', '0o78', '0O7', '-0o17', '0o' + '7'.repeat(30),
  '012', '0123', '08', '0.e1', '-0.e-0', '1_000', '1n', '0xn', '1a', '1.a',
  '.0x5', '5.5.', '1,5', '[1e]', '[1e+]', '[0x]', '[-]', '[.]', '[+]',
  '[1-2]', '[1.]', '[.1]', '{a:-}', '{a:0x}', '{a:1e}',
];
numbers.forEach(t => addText('number', t));

// --- Comments and whitespace in every position ----------------------------------

const clutters = [
  '', ' ', '\t\n\r\v\f ', '/*c*/', ' /*c*/ ', '//c\n', '//c\r', '// c\r\n',
  '/**/', '/***/', '/* * / */', '/*a*//*b*/', '/*a*/ /*b*/', '//a\n//b\n',
  '//a\n/*b*/', '/*a*///b\n', '/*', '/ ', '//', '/*/', '\u00a0',
];
const templates = [
  ['', '{', 'call', ':', '[', '1', ',', "'iface'", ']', ',', 'method', ':',
    '[', "'a'", ',', '2', ']', '}', ''],
  ['', '[', '', ',', '1', ',', '', ']', ''],
  ['', '{', "'k'", ':', 'true', ',', '}', ''],
  ['', '[', 'null', ',', ']', ''],
  ['', "'s'", ''],
  ['', '-1', ''],
  ['', '{}', ''],
  ['', '[', ']', ''],
  ['', '{', 'a', ':', 'undefined', '}', ''],
];
for (const tokens of templates) {
  // tokens alternate gap, token, gap, ...; fill one gap at a time.
  for (let gap = 0; gap < tokens.length; gap += 2) {
    for (const c of clutters) {
      const parts = tokens.slice();
      parts[gap] = parts[gap] + c;
      addText('clutter', parts.join(''));
    }
  }
  // and every gap at once, for a few clutters
  for (const c of clutters.slice(0, 8)) {
    addText('clutter', tokens.map((t, i) => (i % 2 === 0 ? c : t)).join(''));
  }
}
// Between tokens with no gap in the template above: inside numbers and
// literals, and around the colon.
for (const c of clutters) {
  addText('clutter', `[1${c}2]`);
  addText('clutter', `{a${c}:1}`);
  addText('clutter', `{a:${c}1}`);
  addText('clutter', `{${c}}`);
  addText('clutter', `[${c}]`);
  addText('clutter', `[1,${c}]`);
  addText('clutter', `[${c},1]`);
  addText('clutter', `[1${c},]`);
  addText('clutter', `{a:1,${c}}`);
  addText('clutter', `tr${c}ue`);
  addText('clutter', `-${c}1`);
  addText('clutter', `${c}${c}1`);
}

// --- JSTP messages of every kind ------------------------------------------------

const messages = [
  "{handshake:[0,'app']}",
  "{handshake:[0,'app'],login:['user','pass']}",
  "{handshake:[0,'app','^1.0.0']}",
  "{handshake:[0,'app@1.2.3'],session:['d9a4ef0a-d4e4-4ee1-8dfb-66b0a1d1b6ef',17]}",
  "{handshake:[0],ok:'9b2c7a3e-0f4e-4b51-a1c4-5d8e2f6a7b90'}",
  '{handshake:[0],ok:42}',
  '{handshake:[0],error:[11]}',
  "{handshake:[0],error:[16,'Authentication failed']}",
  "{call:[1,'iface'],method:['a',2]}",
  "{call:[1,'auth'],signIn:['user','password']}",
  "{call:[-3,'calculator'],add:[1.5,-2e-10,0x10,null,true,[1,,3],{x:1}]}",
  '{call:[2,"iface"],method:{notAnArray:true}}',
  "{call:[5,'iface'],method:[]}",
  '{callback:[1],ok:[]}',
  "{callback:[1],ok:['result',{nested:[1,2,{deep:'x'}]}]}",
  "{callback:[1],error:[12,'Interface not found']}",
  "{callback:[7],error:[1,'App error',{info:'x'}]}",
  "{callback:[1],error:[17]}",
  "{event:[2,'iface'],name:['arg',1]}",
  "{event:[-2,'chat'],message:['Hello, \\'world\\'!\\n',{from:'u'}]}",
  "{inspect:[3,'iface']}",
  "{callback:[3],ok:['method1','method2']}",
  '{ping:[4]}',
  '{pong:[4]}',
  '{ping:[-4]}',
  '{}',
  "{stream:[9],data:['chunk']}",
  "{unknown:[1,'x'],verb:[]}",
  "{call:[1,'iface'],method:['" + 'x'.repeat(1000) + "']}",
];
messages.forEach(t => addText('message', t));

// --- Invalid UTF-8, as bytes ------------------------------------------------------

const q = 0x27;
const badBytes = [
  [0x80], [0xbf], [0xc0, 0x80], [0xc1, 0xbf], [0xc2], [0xc2, 0x41],
  [0xe0, 0x80, 0x80], [0xe0, 0xa0], [0xe2, 0x82], [0xe2, 0x82, 0x41],
  [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xed, 0x9f, 0xbf],
  [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80], [0xf0, 0x80, 0x80, 0x80],
  [0xf0, 0x90, 0x80], [0xf0, 0x9f, 0x98], [0xf4, 0x90, 0x80, 0x80],
  [0xf4, 0x8f, 0xbf, 0xbf], [0xf5, 0x80], [0xff], [0xfe, 0xff],
  [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x28, 0xa1], [0xc3, 0xa9],
  [0x5c, 0xff], [0x5c, 0xc3, 0xa9], [0x5c, 0xe2, 0x82],
];
for (const b of badBytes) {
  addBytes('utf8 in string', [q, ...b, q]);
  addBytes('utf8 in string', [q, 0x61, ...b, 0x62, q]);
  addBytes('utf8 in comment', [0x2f, 0x2a, ...b, 0x2a, 0x2f, 0x31]);
  addBytes('utf8 outside string', [0x5b, ...b, 0x5d]);
  addBytes('utf8 in key', [0x7b, q, ...b, q, 0x3a, 0x31, 0x7d]);
}

// --- Fixtures of the mdsf repository ------------------------------------------------

const fixtureCases = []; // {file, ok, value?, out?, error?}
function walk(dir) {
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (fs.statSync(p).isDirectory()) {
      walk(p);
    } else if (/\.(json5?|js|txt)$/.test(name)) {
      const text = fs.readFileSync(p, 'utf8');
      fixtureCases.push(
        Object.assign(
          { file: path.relative(fixtures, p).split(path.sep).join('/') },
          attempt(mdsf, text)
        )
      );
    }
  }
}
walk(path.join(fixtures, 'json5'));

const stringifyCases = []; // {name, value, out}
function addValue(name, value) {
  let e;
  try {
    e = enc(value);
  } catch (err) {
    return;
  }
  stringifyCases.push({ name, value: e, out: mdsf.stringify(value) });
}

const serde = require(path.join(fixtures, 'serde-test-cases'));
for (const kind of ['serde', 'serialization']) {
  for (const c of serde[kind]) addValue(`${kind}: ${c.name}`, c.value);
}
for (const kind of ['serde', 'deserialization']) {
  for (const c of serde[kind]) addText(`${kind}: ${c.name}`, c.serialized);
}
for (const c of serde.invalid) addText(`invalid: ${c.name}`, c.value);

// --- Values to stringify ------------------------------------------------------------

const sparse = [1, , 3, , ]; // eslint-disable-line no-sparse-arrays
const valueCorpus = [
  undefined, null, true, false, 0, -0, 1, -1, 0.1, -0.5, 1e21, 1e-7, 5e-324,
  'plain', '', "it's", 'a"b', 'back\\slash', ctl + '\u007f', '\ud800',
  '\udc00', '\ud83d\ude00', '\ude00\ud83d', 'x\ud800y', '\u2028\u2029',
  'é😀', [], [undefined], [undefined, undefined], [1, undefined],
  [undefined, 1], sparse, [null, [undefined, [undefined]]],
  { a: undefined }, { a: 1, b: undefined, c: 3 }, { 'a b': 1, 'a-b': 2,
    $: 3, _x: 4, A1: 5, '1a': 6, '': 7, 'é': 8, 'while': 9, '\n': 10,
    "'": 11, '\ud800': 12, '1': 13, '0': 14 },
  { nested: { arr: [1, { deep: [undefined, 'x'] }], e: {} } },
];
valueCorpus.forEach((v, i) => addValue(`value ${i}`, v));

// --- Number formatting ------------------------------------------------------------

// Deterministic doubles across all magnitudes: fixed edge cases plus values
// from a small xorshift generator (seed fixed).
const numberCases = [];
function addNumber(x) {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(x);
  numberCases.push({ bits: b.toString('hex'), out: String(x) });
}
[
  0, -0, NaN, Infinity, -Infinity, 1, -1, 0.1, 0.2, 0.1 + 0.2, 1 / 3, 2 / 3,
  1e21, 1e21 - 65536, 999999999999999900000, 1e-6, 1e-7, 1.5e-7, 123e-9,
  5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 2 ** 53,
  2 ** 53 + 2, 2 ** 63, 2 ** 64, -(2 ** 53), 2 ** 53 - 1, 4294967295,
  4294967296, 1e15, 1e16, 1e17, 123456789012345680000, 0.000001234,
  100, 1e100, 1.5e300, -1.5e-300, 8.41e21, 5e-7, 4.35, 0.5, 1.25e-5,
].forEach(addNumber);
let s0 = 0x9e3779b9 | 0;
let s1 = 0x243f6a88 | 0;
function rnd32() {
  let x = s0;
  const y = s1;
  s0 = y;
  x ^= x << 23;
  x ^= x >>> 17;
  x ^= y ^ (y >>> 26);
  s1 = x;
  return (s0 + s1) >>> 0;
}
const buf = Buffer.alloc(8);
for (let i = 0; i < 3000; i++) {
  buf.writeUInt32BE(rnd32(), 0);
  buf.writeUInt32BE(rnd32(), 4);
  const x = buf.readDoubleBE(0);
  if (Number.isNaN(x)) continue;
  addNumber(x);
  addNumber(Math.round(x * 1e6) / 1e6 || 0);
}
for (let e = -330; e <= 310; e++) {
  addNumber(Number(`1e${e}`));
  addNumber(Number(`1.2345678e${e}`));
  addNumber(Number(`9.999999999999999e${e}`));
}

// --- JSTP stream framing (message-parser fixtures) --------------------------------

const streamCases = require(path.join(fixtures, 'message-parser.js')).map(c => {
  const result = [];
  let remainder;
  let error = null;
  try {
    remainder = mdsf.parseJSTPMessages(c.message, result);
  } catch (err) {
    error = String(err.message);
  }
  return {
    name: c.name,
    input: c.message,
    messages: result.map(m => mdsf.stringify(m)),
    remainder,
    error,
  };
});

const out = {
  generator: 'core/mdsf/testdata/gen/gen.js',
  reference: `mdsf 1.1.1 (JavaScript parser) on Node.js ${process.version}`,
  parse: parseCases,
  fixtures: fixtureCases,
  stringify: stringifyCases,
  numbers: numberCases,
  stream: streamCases,
};
const file = path.join(__dirname, '../reference.json');
fs.writeFileSync(file, JSON.stringify(out, null, 1) + '\n');
console.log(
  `wrote ${file}: ${parseCases.length} parse, ${fixtureCases.length} fixture, ` +
    `${stringifyCases.length} stringify, ${numberCases.length} number, ` +
    `${streamCases.length} stream cases`
);

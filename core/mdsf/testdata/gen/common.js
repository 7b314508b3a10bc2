'use strict';

// Shared helpers of the reference scripts: loading the reference mdsf
// package from interop/node_modules and encoding JavaScript values as
// exact, type-tagged JSON the Go tests can rebuild.

const path = require('path');

const root = path.resolve(__dirname, '../../../..');

// loadMdsf loads mdsf 1.1.1 from interop/node_modules. Its native addon is
// not built (npm ci --ignore-scripts), so this is the JavaScript parser that
// @metarhia/jstp peers run; the warning it prints about that is silenced.
function loadMdsf() {
  const warn = console.warn;
  console.warn = () => {};
  try {
    const dir = path.join(root, 'interop/node_modules/mdsf');
    const version = require(path.join(dir, 'package.json')).version;
    if (version !== '1.1.1') {
      throw new Error(`interop/node_modules/mdsf is ${version}, want 1.1.1`);
    }
    return require(dir);
  } finally {
    console.warn = warn;
  }
}

// encStr keeps well-formed strings as JSON strings and lists the UTF-16
// code units of strings with unpaired surrogates.
function encStr(s) {
  if (s.isWellFormed()) return s;
  const units = [];
  for (let i = 0; i < s.length; i++) units.push(s.charCodeAt(i));
  return { u16: units };
}

// enc encodes a value as {undef}, null, boolean, {num: IEEE-754 bits in
// hex}, string or {u16}, {arr: [...]}, {obj: [[key, value], ...]} in
// Object.keys order. It throws on values with no mdsf counterpart.
function enc(v) {
  if (v === undefined) return { undef: true };
  if (v === null) return null;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number': {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(v);
      return { num: b.toString('hex') };
    }
    case 'string':
      return encStr(v);
    case 'object': {
      if (Array.isArray(v)) {
        const a = [];
        for (let i = 0; i < v.length; i++) a.push(enc(v[i]));
        return { arr: a };
      }
      if (Object.prototype.toString.call(v) !== '[object Object]') break;
      return {
        obj: Object.keys(v)
          .filter(k => typeof v[k] !== 'function')
          .map(k => [encStr(k), enc(v[k])]),
      };
    }
  }
  throw new Error('unrepresentable value');
}

// attempt runs the reference parser on text and describes the outcome.
function attempt(mdsf, text) {
  try {
    const value = mdsf.parse(text);
    return { ok: true, value: enc(value), out: mdsf.stringify(value) };
  } catch (err) {
    return { ok: false, error: String(err && err.message) };
  }
}

module.exports = { root, loadMdsf, enc, encStr, attempt };

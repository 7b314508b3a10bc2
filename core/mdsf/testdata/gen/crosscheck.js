'use strict';

// Answers the Go cross-check test (crosscheck_test.go): reads one JSON
// object per line on stdin, {"b": "<base64 of mdsf text>"}, parses the bytes
// with the reference mdsf (decoding them as Node.js decodes socket data)
// and writes one JSON line: {"ok":true,"value":<encoded>,"out":"<stringify>"}
// or {"ok":false,"error":"..."}.

const readline = require('readline');
const { loadMdsf, attempt } = require('./common');

const mdsf = loadMdsf();
const rl = readline.createInterface({ input: process.stdin, terminal: false });
const out = [];
rl.on('line', line => {
  const req = JSON.parse(line);
  out.push(JSON.stringify(attempt(mdsf, Buffer.from(req.b, 'base64'))));
  if (out.length >= 256) process.stdout.write(out.splice(0).join('\n') + '\n');
});
rl.on('close', () => {
  if (out.length) process.stdout.write(out.join('\n') + '\n');
});

'use strict';

// Reference server for the benchmark: the application of the reference's
// own benchmark (app, iface.method answering with no result) plus
// iface.hold, which answers only when released (memory runs).
// Usage: node server.js ws|tcp|unix [socket path]
// It prints "ADDR <address>", takes commands on stdin (gc, waitholds N,
// release) and ends when stdin closes.

const readline = require('readline');

const jstp = require(process.env.JSTP_MODULE || '@metarhia/jstp');

const [transport, socketPath] = process.argv.slice(2);

let held = [];
let released = false;
let holdCount = 0;
let holdWaiter = null;

const checkHolds = () => {
  if (holdWaiter && holdCount >= holdWaiter.n) {
    const w = holdWaiter;
    holdWaiter = null;
    w.done();
  }
};

const app = new jstp.Application('app', {
  iface: {
    method(connection, argument, callback) {
      callback(null);
    },
    hold(connection, argument, callback) {
      holdCount++;
      if (released) callback(null);
      else held.push(callback);
      checkHolds();
    },
  },
});

const limits = {
  maxReceivedFrameSize: 16 * 1024 * 1024,
  maxReceivedMessageSize: 16 * 1024 * 1024,
};

const server =
  transport === 'ws'
    ? jstp.ws.createServer({ applications: [app] }, limits)
    : jstp.net.createServer({ applications: [app] });
server.maxConnections = 1e6;

const announce = () => {
  if (transport === 'unix') {
    console.log(`ADDR unix://${socketPath}`);
    return;
  }
  const { port } = server.address();
  const scheme = transport === 'ws' ? 'ws' : 'tcp';
  const suffix = transport === 'ws' ? '/' : '';
  console.log(`ADDR ${scheme}://127.0.0.1:${port}${suffix}`);
};

if (transport === 'unix') server.listen(socketPath, announce);
else server.listen(0, '127.0.0.1', announce);

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', line => {
  const [cmd, arg] = line.trim().split(/\s+/);
  switch (cmd) {
    case 'gc':
      if (global.gc) global.gc();
      console.log('OK');
      break;
    case 'waitholds':
      holdWaiter = { n: +arg, done: () => console.log(`OK ${holdCount}`) };
      checkHolds();
      break;
    case 'release':
      released = true;
      held.forEach(cb => cb(null));
      held = [];
      console.log('OK');
      break;
    default:
      console.log('OK unknown command');
  }
});
rl.on('close', () => {
  server.close();
  process.exit(0);
});

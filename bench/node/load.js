'use strict';

// Reference load generator, shaped like the reference's benchmark/worker.js:
// C connections opened with connectAndInspect, then R calls of
// iface.method per connection with an S-byte string argument. Unlike the
// reference, which issues all R at once, each connection keeps `window`
// calls in flight (the Go load generator does the same).
// Usage: node load.js ws|tcp|unix <address> C R S window
// Prints CONNECTED, waits for START on stdin, prints RESULT <json>, then
// ends when stdin closes.

const readline = require('readline');

const jstp = require(process.env.JSTP_MODULE || '@metarhia/jstp');

const [transport, address, ...nums] = process.argv.slice(2);
const [C, R, S, windowSize] = nums.map(Number);

const argument = '0'.repeat(S);
const connections = new Array(C);
const wsConfig = {
  maxReceivedFrameSize: 16 * 1024 * 1024,
  maxReceivedMessageSize: 16 * 1024 * 1024,
};

const connectOne = cb => {
  const done = (error, connection) => cb(error, connection);
  if (transport === 'ws') {
    jstp.ws.connectAndInspect('app', null, ['iface'], wsConfig, address, done);
  } else if (transport === 'unix') {
    const path = address.replace(/^unix:\/\//, '');
    jstp.net.connectAndInspect('app', null, ['iface'], path, done);
  } else {
    const [host, port] = address.replace(/^tcp:\/\//, '').split(':');
    jstp.net.connectAndInspect('app', null, ['iface'], +port, host, done);
  }
};

let connected = 0;
for (let i = 0; i < C; i++) {
  connectOne((error, connection) => {
    if (error) {
      console.error(`connect: ${error}`);
      process.exit(1);
    }
    connections[i] = connection;
    if (++connected === C) console.log('CONNECTED');
  });
}

const run = () => {
  const lat = [];
  let errors = 0;
  let lanesLeft = 0;
  const finish = () => {
    console.log('RESULT ' + JSON.stringify({ lat, errors }));
  };
  const lane = (proxy, count) => {
    let left = count;
    const next = () => {
      if (left === 0) {
        if (--lanesLeft === 0) finish();
        return;
      }
      left--;
      const t = process.hrtime.bigint();
      proxy.method(argument, error => {
        if (error) errors++;
        else lat.push(Number(process.hrtime.bigint() - t));
        next();
      });
    };
    next();
  };
  const win = Math.max(1, Math.min(windowSize, R));
  const lanes = [];
  for (const connection of connections) {
    const proxy = connection.remoteProxies.iface;
    for (let l = 0; l < win; l++) {
      const count = Math.floor(R / win) + (l < R % win ? 1 : 0);
      if (count > 0) lanes.push([proxy, count]);
    }
  }
  lanesLeft = lanes.length;
  lanes.forEach(([proxy, count]) => lane(proxy, count));
};

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', line => {
  if (line.trim() === 'START') run();
});
rl.on('close', () => {
  connections.forEach(c => c && c.close());
  process.exit(0);
});

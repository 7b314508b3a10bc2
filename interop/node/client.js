'use strict';

// Reference JSTP client for the interoperability tests.
//
// Usage: node client.js '<json target>'
//   target: {"transport":"ws","url":"ws://127.0.0.1:port/"}
//           {"transport":"net","host":"127.0.0.1","port":n}
//           {"transport":"net","path":"/path/to/socket"}
//           {"transport":"tls","host":"127.0.0.1","port":n,"ca":"/path/ca.pem"}
//
// It runs checks with @metarhia/jstp 2.3.0 against a server serving the
// 'interop' application (the Go twin of node/server.js) and prints one JSON
// line per check: {"check":name,"ok":true} or {"check":name,"ok":false,
// "error":"..."}, and {"quirk":name,...} lines reporting what the reference
// itself does wrong; {"done":true} at the end. To resume a session it cuts
// its own socket, prints {"wait":"disconnect","session":id} and waits for a
// line "go" on stdin before reconnecting.

const fs = require('fs');
const readline = require('readline');

const jstp = require('@metarhia/jstp');
const mdsf = require('mdsf');

const target = JSON.parse(process.argv[2]);
const print = obj => process.stdout.write(JSON.stringify(obj) + '\n');

process.on('uncaughtException', err => {
  print({ uncaught: String(err && err.stack) });
});

// stdin: every line "go" releases the oldest waiting reconnection.
const goWaiters = [];
const goLines = [];
readline.createInterface({ input: process.stdin }).on('line', line => {
  if (line.trim() === '') return;
  const w = goWaiters.shift();
  if (w) w();
  else goLines.push(line);
});
const waitGo = () =>
  new Promise(resolve => {
    if (goLines.length > 0) {
      goLines.shift();
      resolve();
    } else {
      goWaiters.push(resolve);
    }
  });

const transportArgs = () => {
  switch (target.transport) {
    case 'ws':
      return [jstp.ws, [{}, target.url]];
    case 'net':
      return [
        jstp.net,
        [target.path ? { path: target.path } : { host: target.host, port: target.port }],
      ];
    case 'tls':
      return [
        jstp.tls,
        [
          {
            host: target.host,
            port: target.port,
            ca: fs.readFileSync(target.ca),
            servername: 'localhost',
          },
        ],
      ];
    default:
      throw new Error('unknown transport ' + target.transport);
  }
};

const openConnections = new Set();

// A reconnector that reconnects at once, or, for a gated client, after the
// test says "go"; never after an intentional close.
const makeReconnector = gated => (connection, reconnectFn) => {
  if (connection.closedIntentionally) return;
  const attempt = () =>
    reconnectFn(err => {
      if (err) print({ reconnectError: String(err) });
    });
  if (gated) {
    print({ wait: 'disconnect', session: connection.session.id });
    waitGo().then(attempt);
  } else {
    setImmediate(attempt);
  }
};

const clientEvents = [];
const makeClient = (extra = {}) => {
  const events = [];
  const handlers = {
    test: {
      tick: (connection, ...args) => events.push(['tick', ...args]),
      broadcast: (connection, ...args) => events.push(['broadcast', ...args]),
      holding: (connection, ...args) => events.push(['holding', ...args]),
    },
  };
  const client = Object.assign(
    {
      application: new jstp.Application('jstp', {}, handlers),
      reconnector: makeReconnector(extra.gated),
    },
    extra
  );
  delete client.gated;
  client.events = events;
  clientEvents.push(events);
  return client;
};

const connect = (app, client = makeClient()) =>
  new Promise((resolve, reject) => {
    const [mod, args] = transportArgs();
    mod.connect(app, client, ...args, (err, connection) => {
      if (err) {
        if (connection) connection.close();
        reject(err);
        return;
      }
      openConnections.add(connection);
      resolve(connection);
    });
  });

const connectAndInspect = (app, interfaces, client = makeClient()) =>
  new Promise((resolve, reject) => {
    const [mod, args] = transportArgs();
    mod.connectAndInspect(
      app,
      client,
      interfaces,
      ...args,
      (err, connection, api) => {
        if (connection) openConnections.add(connection);
        if (err) {
          reject(err);
          return;
        }
        resolve({ connection, api });
      }
    );
  });

const close = connection => {
  openConnections.delete(connection);
  connection.close();
};

const callOn = (connection, iface, method, ...args) =>
  new Promise((resolve, reject) => {
    connection.callMethod(iface, method, args, (err, ...results) => {
      if (err) reject(err);
      else resolve(results);
    });
  });
const call = (connection, method, ...args) =>
  callOn(connection, 'test', method, ...args);

// cut severs the connection's socket abruptly, without a closing
// handshake, as a network failure would.
// It resolves once the connection noticed.
const cut = connection => {
  const closed = new Promise(resolve => connection.once('close', resolve));
  const raw = connection.getTransport();
  const socket = raw.socket || raw;
  socket.destroy();
  return closed;
};

const s = v => mdsf.stringify(v);
const assertEq = (what, got, want) => {
  if (s(got) !== s(want)) {
    throw new Error(`${what}: got ${s(got)}, want ${s(want)}`);
  }
};
const assertCode = (what, err, code, message) => {
  if (!err || err.code !== code) {
    throw new Error(`${what}: got error ${err && err.code} (${err}), want ${code}`);
  }
  if (message !== undefined && err.message !== message) {
    throw new Error(`${what}: message ${JSON.stringify(err.message)}, want ${JSON.stringify(message)}`);
  }
};
const expectError = async (what, promise, code, message, info) => {
  let err = null;
  try {
    const res = await promise;
    throw new Error(`${what}: succeeded with ${s(res)}, want error ${code}`);
  } catch (e) {
    err = e;
  }
  if (!(err instanceof jstp.RemoteError) && err.code === undefined) throw err;
  assertCode(what, err, code, message);
  if (info !== undefined) assertEq(what + ' info', err.info, info);
};

// until resolves when cond() holds, checking on every event-loop turn.
const until = (what, cond, ms = 5000) =>
  new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const check = () => {
      if (cond()) resolve();
      else if (Date.now() > deadline) reject(new Error('timed out waiting for ' + what));
      else setTimeout(check, 2);
    };
    check();
  });

const withTimeout = (p, ms, what) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out: ' + what)), ms);
    p.then(
      v => {
        clearTimeout(timer);
        resolve(v);
      },
      e => {
        clearTimeout(timer);
        reject(e);
      }
    );
  });

const edgeValues = [
  ['empty string', ''],
  ['quotes', `it's "quoted" ''`],
  ['backslashes', 'back\\slash \\\\ \\\' \\n'],
  ['NUL and controls', 'nul\u0000byte \u0001\u0007\u001f\u007f end'],
  ['whitespace escapes', '\t\n\r\b\f\v'],
  ['emoji', 'emoji 😀👍🏽'],
  ['astral', 'astral 𝄞 \u{10FFFF} \u{10000}'],
  ['line separators', 'a\u2028b\u2029c'],
  ['cyrillic', 'ünïcödé кирилиця'],
  ['zero', 0],
  ['negative zero', -0],
  ['1e21', 1e21],
  ['1e-7', 1e-7],
  ['2^53', 2 ** 53],
  ['-2^53', -(2 ** 53)],
  ['0.1+0.2', 0.1 + 0.2],
  ['max', Number.MAX_VALUE],
  ['min', Number.MIN_VALUE],
  ['true', true],
  ['false', false],
  ['null', null],
  ['array', [1, 'a', null, [[]]]],
  ['array with hole', [1, undefined, 3]],
  ['object', { a: 1, 'b-c': 'd', $x_1: [], '': 'empty key', "it's": null }],
  ['nested', { deep: { deeper: [{ n: -2.5 }] } }],
];

const checks = [];
const check = (name, fn) => checks.push([name, fn]);

check('handshake anonymous', async () => {
  const c = await connect('interop');
  if (!/^[0-9a-f-]{36}$/.test(c.session.id)) {
    throw new Error('session id ' + c.session.id);
  }
  assertEq('whoami', await call(c, 'whoami'), [null]);
  close(c);
});

check('handshake login', async () => {
  const c = await connect(
    'interop',
    makeClient({ connectPolicy: new jstp.SimpleConnectPolicy('user', 'secret') })
  );
  assertEq('whoami', await call(c, 'whoami'), ['user']);
  close(c);
});

check('handshake bad login', () =>
  expectError(
    'bad login',
    connect('interop', makeClient({ connectPolicy: new jstp.SimpleConnectPolicy('user', 'wrong') })),
    11
  ));

check('handshake unknown app', () =>
  expectError('unknown app', connect('nosuchapp'), 10));

for (const [app, want] of [
  ['interop', '2.0.0'],
  ['interop@1.0.0', '1.0.0'],
  ['interop@^1.0.0', '1.1.0'],
  ['interop@~1.0.0', '1.0.0'],
  ['interop@1.x', '1.1.0'],
  ['interop@>=2.0.0', '2.0.0'],
  ['interop@^3.0.0', null],
]) {
  check('version ' + app, async () => {
    if (!want) {
      await expectError(app, connect(app), 10);
      return;
    }
    const c = await connect(app);
    assertEq(app, await call(c, 'version'), [want]);
    close(c);
  });
}

check('echo and describe', async () => {
  const c = await connect('interop');
  for (const [name, v] of edgeValues) {
    const [got] = await call(c, 'echo', v);
    // -0 travels as 0; everything else comes back as it went.
    assertEq('echo ' + name, got, v);
    if (Object.is(v, -0) && Object.is(got, -0)) throw new Error('-0 came back as -0');
    const [d] = await call(c, 'describe', v);
    if (d.text !== s(v)) {
      throw new Error(`describe ${name}: Go writes ${d.text}, Node writes ${s(v)}`);
    }
    if (typeof v === 'string') {
      assertEq('code points ' + name, d.codePoints, Array.from(v).map(ch => ch.codePointAt(0)));
      assertEq('units ' + name, d.units, v.length);
    }
  }
  close(c);
});

check('multiple arguments and results', async () => {
  const c = await connect('interop');
  assertEq('echo3', await call(c, 'echo3', 'a', 2, [true]), ['a', 2, [true]]);
  assertEq(
    'types',
    await call(c, 'types'),
    [42, -1.5, 'str', true, false, null, [1, [2, 'three'], { four: 4 }], { a: 1, 'b-c': 'd', nested: { arr: [] } }]
  );
  const many = await Promise.all(Array.from({ length: 50 }, (_, i) => call(c, 'echo', i)));
  assertEq('concurrent', many, Array.from({ length: 50 }, (_, i) => [i]));
  close(c);
});

check('errors', async () => {
  const c = await connect('interop');
  await expectError('unknown interface', callOn(c, 'nope', 'echo', 1), 12, 'Interface not found');
  await expectError('unknown method', call(c, 'nope'), 14, 'Method not found');
  await expectError('too few arguments', call(c, 'echo'), 17, 'Invalid signature');
  await expectError('too many arguments', call(c, 'echo', 1, 2), 17, 'Invalid signature');
  await expectError('method panics', call(c, 'throws'), 16, 'Internal API error');
  for (const code of [12, 14, 16, 17]) {
    await expectError('fail ' + code, call(c, 'fail', code), code);
  }
  await expectError('custom', call(c, 'custom'), 1001, 'custom failure', ['detail', { n: 1 }]);
  await expectError('string error', call(c, 'stringError'), 1, 'plain string error');
  assertEq('still alive', await call(c, 'echo', 'ok'), ['ok']);
  close(c);
});

check('events both ways', async () => {
  const client = makeClient();
  const c = await connect('interop', client);
  await call(c, 'triggerEvent', 'tick', [1, 'two', { three: [3] }]);
  await until('tick', () => client.events.length === 1);
  assertEq('event', client.events[0], ['tick', 1, 'two', { three: [3] }]);
  c.emitRemoteEvent('test', 'note', ['first']);
  c.emitRemoteEvent('test', 'note', [2, { x: 'y' }]);
  c.emitRemoteEvent('test', 'note', []);
  // The Go server dispatches events on a goroutine of their own: poll.
  let notes = [];
  await until('notes', () => {
    call(c, 'notes').then(([n]) => {
      notes = n;
    });
    return notes.length === 3;
  });
  assertEq('notes', notes, [['first'], [2, { x: 'y' }], []]);
  close(c);
});

check('inspect and connectAndInspect', async () => {
  const c = await connect('interop');
  const methods = await new Promise((resolve, reject) =>
    c.inspectInterface('test', (err, proxy) => (err ? reject(err) : resolve(Object.keys(proxy))))
  );
  for (const m of ['version', 'echo', 'echo3', 'triggerEvent', 'big']) {
    if (!methods.includes(m)) throw new Error('inspect lacks ' + m + ': ' + methods);
  }
  await expectError(
    'inspect nope',
    new Promise((resolve, reject) =>
      c.inspectInterface('nope', (err, proxy) => (err ? reject(err) : resolve(proxy)))
    ),
    12
  );
  close(c);
  const { connection, api } = await connectAndInspect('interop@^1.0.0', ['test', 'other']);
  const hello = await new Promise((resolve, reject) =>
    api.other.hello('node', (err, r) => (err ? reject(err) : resolve(r)))
  );
  assertEq('other.hello', hello, 'hello node');
  const got = [];
  api.test.on('tick', (...args) => got.push(args));
  await new Promise((resolve, reject) =>
    api.test.triggerEvent('tick', ['to proxy'], err => (err ? reject(err) : resolve()))
  );
  await until('proxy event', () => got.length === 1);
  assertEq('proxy event', got[0], ['to proxy']);
  const version = await new Promise((resolve, reject) =>
    api.test.version((err, v) => (err ? reject(err) : resolve(v)))
  );
  assertEq('version', version, '1.1.0');
  close(connection);
  await expectError('connectAndInspect nope', connectAndInspect('interop', ['test', 'nope']), 12);
});

check('ping and heartbeat', async () => {
  const c = await connect('interop', makeClient({ heartbeatInterval: 30 }));
  await new Promise(resolve => c.ping(resolve));
  let pings = 0;
  let pongs = 0;
  c.on('incomingMessage', m => {
    if (m.ping) pings++;
    if (m.pong) pongs++;
  });
  // The Go server pings every 200 ms; the client every 30 ms.
  await until('server ping and pongs to our heartbeat', () => pings >= 1 && pongs >= 2);
  close(c);
});

check('broadcast', async () => {
  const a = makeClient();
  const b = makeClient();
  const ca = await connect('interop', a);
  const cb = await connect('interop', b);
  await call(ca, 'broadcast', ['to all', 1]);
  await until('both broadcasts', () => a.events.length === 1 && b.events.length === 1);
  assertEq('a', a.events[0], ['broadcast', 'to all', 1]);
  assertEq('b', b.events[0], ['broadcast', 'to all', 1]);
  close(ca);
  close(cb);
});

check('1 MiB payloads', async () => {
  const c = await connect('interop');
  const size = 1 << 20;
  const [big] = await call(c, 'big', size);
  if (big.length !== size || !big.startsWith('abcdefghijklmnopqrstuvwxyz0123456789abc')) {
    throw new Error('big returned ' + big.length + ' characters');
  }
  const sent = 'ж😀\'\\'.repeat(size / 10);
  assertEq('size', await call(c, 'size', sent), [sent.length]);
  const [back] = await call(c, 'echo', sent);
  if (back !== sent) throw new Error('1 MiB echo came back different');
  // A method registered with BorrowArgs: the Go server parses large calls
  // to it out of lent memory (over tcp and unix, the reader's own buffer).
  const plain = 'plain text, nothing to escape '.repeat(size / 32);
  const wide = 'жж😀 '.repeat(size / 16);
  const [p1, p2, p3] = await call(c, 'echoBorrowed', plain, sent, wide);
  if (p1 !== plain || p2 !== sent || p3 !== wide) throw new Error('1 MiB borrowed echo came back different');
  close(c);
});

check('session resume', async () => {
  const client = makeClient({ gated: true });
  const c = await connect('interop', client);
  const sid = c.session.id;
  assertEq('counter', await call(c, 'counter'), [1]);
  await call(c, 'armEvents', 3);
  await cut(c);
  // Down: the Go server emits three events (armed), we emit and call.
  for (let i = 1; i <= 3; i++) c.emitRemoteEvent('test', 'note', ['while down', i]);
  const echo = call(c, 'echo', 'sent while down');
  const counter = call(c, 'counter');
  const [echoed] = await echo;
  assertEq('call made while down', echoed, 'sent while down');
  assertEq('counter made while down', await counter, [2]);
  if (c.session.id !== sid) throw new Error('session id changed');
  await until('armed events', () => client.events.length >= 3);
  assertEq('events emitted while down', client.events, [['tick', 1], ['tick', 2], ['tick', 3]]);
  let notes = [];
  await until('notes', () => {
    call(c, 'notes').then(([n]) => {
      notes = n;
    });
    return notes.length === 3;
  });
  assertEq('notes', notes, [['while down', 1], ['while down', 2], ['while down', 3]]);
  await call(c, 'triggerEvent', 'tick', [4]);
  await until('event after resume', () => client.events.length === 4);
  assertEq('event after resume', client.events[3], ['tick', 4]);
  assertEq('counter', await call(c, 'counter'), [3]);
  close(c);
});

// Quirks: what the reference client gets wrong, reported rather than
// checked, so the Go test can assert exactly the known behaviour.
check('quirk lost callback', async () => {
  const client = makeClient({ gated: true });
  const c = await connect('interop', client);
  let settled = null;
  call(c, 'hold', 'A').then(
    r => (settled = { ok: r }),
    e => (settled = { code: e.code })
  );
  await until('server holding', () => client.events.length === 1);
  // A later call is answered while 'hold' waits: the reference then
  // believes everything up to it was delivered.
  assertEq('echo', await call(c, 'echo', 'B'), ['B']);
  await cut(c);
  // Resumed: the server received 'hold', its answer was lost in the drop.
  assertEq('after resume', await call(c, 'echo', 'C'), ['C']);
  await new Promise(resolve => setImmediate(resolve));
  print({ quirk: 'lost callback', settled });
  close(c);
});

check('quirk callMethodWithResend', async () => {
  const client = makeClient({ gated: true });
  const c = await connect('interop', client);
  const result = new Promise(resolve =>
    c.callMethodWithResend('test', 'hold', ['R'], (err, ...res) =>
      resolve(err ? { code: err.code } : { ok: res })
    )
  );
  await until('server holding', () => client.events.length === 1);
  await cut(c);
  const r = await result;
  print({ quirk: 'callMethodWithResend', result: r });
  close(c);
});

(async () => {
  for (const [name, fn] of checks) {
    try {
      await withTimeout(fn(), 15000, name);
      print({ check: name, ok: true });
    } catch (err) {
      print({ check: name, ok: false, error: String((err && err.stack) || err) });
    }
  }
  for (const c of openConnections) c.close();
  print({ done: true });
  process.exit(0);
})();

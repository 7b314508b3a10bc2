'use strict';

// Reference JSTP server for the interoperability tests.
//
// It serves the application 'interop' (versions 1.0.0, 1.1.0 and 2.0.0) with
// @metarhia/jstp 2.3.0 over WebSocket, TCP and a Unix socket, plus a second
// WebSocket server with a heartbeat. When listening it prints one JSON line
//   {"ready":true,"ws":<port>,"wsHeartbeat":<port>,"tcp":<port>,"unix":<path>}
// then one JSON line per notable event ({"ev":"connect","session":...},
// "reconnect", "disconnect", "ping", "pong", "note", "emitted").
// It reads JSON commands, one per line, on stdin (see onCommand) and exits
// when stdin closes.

const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');

const jstp = require('@metarhia/jstp');
const mdsf = require('mdsf');

const print = obj => process.stdout.write(JSON.stringify(obj) + '\n');

// A method that throws makes the reference answer 16 and then rethrow
// (connection.js, _processCallMessage); keep the process alive and say so.
process.on('uncaughtException', err => {
  print({ ev: 'uncaught', message: String(err && err.message) });
});
process.on('unhandledRejection', err => {
  print({ ev: 'unhandledRejection', message: String(err && err.message) });
});

const sessions = new Map(); // session id -> Session, for stdin commands
const held = new Map(); // holdUntil key -> function answering the call

const describe = x => ({
  type: x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x,
  negZero: Object.is(x, -0),
  text: mdsf.stringify(x),
  codePoints:
    typeof x === 'string' ? Array.from(x).map(c => c.codePointAt(0)) : null,
  units: typeof x === 'string' ? x.length : null,
});

const makeApi = version => ({
  test: {
    version: (connection, callback) => callback(null, version),
    whoami: (connection, callback) => callback(null, connection.username),
    echo: (connection, value, callback) => callback(null, value),
    echo3: (connection, a, b, c, callback) => callback(null, a, b, c),
    types: (connection, callback) =>
      callback(
        null,
        42,
        -1.5,
        'str',
        true,
        false,
        null,
        [1, [2, 'three'], { four: 4 }],
        { a: 1, 'b-c': 'd', nested: { arr: [] } }
      ),
    describe: (connection, value, callback) => callback(null, describe(value)),
    // holdUntil answers only when stdin says {"cmd":"release","key":key},
    // the first time a key is used; later calls answer at once.
    holdUntil: (connection, key, callback) => {
      if (held.has(key)) {
        callback(null, key);
        return;
      }
      held.set(key, () => callback(null, key));
      print({ ev: 'holding', key, session: connection.session.id });
    },
    restringify: (connection, values, callback) =>
      callback(null, values.map(v => mdsf.stringify(v)), values),
    fail: (connection, code, callback) => callback(code),
    custom: (connection, callback) =>
      callback(
        new jstp.RemoteError(1001, 'custom failure', ['detail', { n: 1 }])
      ),
    stringError: (connection, callback) => callback('plain string error'),
    throws: (connection, callback) => {
      throw new Error('method threw');
    },
    triggerEvent: (connection, name, args, callback) => {
      connection.emitRemoteEvent('test', name, args);
      callback(null);
    },
    broadcast: (connection, args, callback) => {
      connection.server.broadcast('test', 'broadcast', ...args);
      callback(null);
    },
    big: (connection, size, callback) => {
      let s = '';
      const unit = 'abcdefghijklmnopqrstuvwxyz0123456789';
      while (s.length < size) s += unit;
      callback(null, s.slice(0, size));
    },
    size: (connection, value, callback) =>
      callback(null, typeof value === 'string' ? value.length : -1),
    counter: (connection, callback) => {
      const n = (connection.session.get('counter') || 0) + 1;
      connection.session.set('counter', n);
      callback(null, n);
    },
    registered: (connection, callback) =>
      callback(null, connection.server.clients.get(connection.id) === connection),
    notes: (connection, callback) =>
      callback(null, connection.session.get('notes') || []),
    sessionId: (connection, callback) =>
      callback(null, connection.session.id),
    delayed: (connection, ms, value, callback) =>
      setTimeout(() => callback(null, value), ms),
  },
  other: {
    hello: (connection, name, callback) => callback(null, 'hello ' + name),
  },
});

const eventHandlers = {
  test: {
    note: (connection, ...args) => {
      const notes = connection.session.get('notes') || [];
      notes.push(args);
      connection.session.set('notes', notes);
      print({ ev: 'note', session: connection.session.id, args });
    },
  },
};

const applications = ['1.0.0', '1.1.0', '2.0.0'].map(
  v => new jstp.Application('interop', makeApi(v), eventHandlers, v)
);

// Asynchronous, as a real policy checking a database would be.
const authPolicy = (connection, application, strategy, credentials, cb) =>
  setImmediate(checkLogin, strategy, credentials, cb);

const checkLogin = (strategy, credentials, cb) => {
  if (
    strategy === 'login' &&
    credentials &&
    credentials[0] === 'user' &&
    credentials[1] === 'secret'
  ) {
    cb(null, 'user');
    return;
  }
  cb(new Error('bad login'));
};

const watch = server => {
  server.on('connect', connection => {
    sessions.set(connection.session.id, connection.session);
    print({ ev: 'connect', session: connection.session.id });
  });
  server.on('reconnect', connection => {
    sessions.set(connection.session.id, connection.session);
    print({ ev: 'reconnect', session: connection.session.id });
  });
  server.on('restoreSession', (session, connection) => {
    sessions.set(session.id, session);
  });
  server.on('disconnect', connection => {
    if (connection.session) {
      print({ ev: 'disconnect', session: connection.session.id });
    }
  });
  server.on('log', (connection, event, message) => {
    if (event !== 'incomingMessage' || !message) return;
    const session = connection.session && connection.session.id;
    if (message.ping) print({ ev: 'ping', session });
    if (message.pong) print({ ev: 'pong', session });
  });
  server.on('connectionError', () => {});
  return server;
};

const options = heartbeatInterval => ({
  applications,
  authPolicy,
  heartbeatInterval,
});

const wsServer = watch(jstp.ws.createServer(options()));
const wsHeartbeat = watch(jstp.ws.createServer(options(100)));
const tcpServer = watch(jstp.net.createServer(options()));
const unixServer = watch(jstp.net.createServer(options()));

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jstp-interop-'));
const unixPath = path.join(dir, 'jstp.sock');

const listen = (server, ...args) =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(...args, () => resolve(server.address()));
  });

// Commands on stdin, one JSON object a line:
//   {"cmd":"emit","session":id,"iface":"test","event":"tick","args":[...]}
//     emits an event on the session's connection, even a closed one (the
//     reference then only buffers it), and prints {"ev":"emitted"}.
//   {"cmd":"release","key":key}
//     answers the call holdUntil(key) (on a closed connection the answer is
//     lost) and prints {"ev":"released"}.
const onCommand = line => {
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    print({ ev: 'badCommand', line });
    return;
  }
  if (cmd.cmd === 'emit') {
    const session = sessions.get(cmd.session);
    if (!session) {
      print({ ev: 'badCommand', line, why: 'no such session' });
      return;
    }
    session.connection.emitRemoteEvent(cmd.iface, cmd.event, cmd.args);
    print({ ev: 'emitted', session: cmd.session, event: cmd.event });
  } else if (cmd.cmd === 'release') {
    const answer = held.get(cmd.key);
    if (answer) answer();
    print({ ev: 'released', key: cmd.key });
  }
};

const cleanup = () => {
  try {
    fs.unlinkSync(unixPath);
  } catch (e) {
    // already gone
  }
  try {
    fs.rmdirSync(dir);
  } catch (e) {
    // not empty or gone
  }
};

(async () => {
  const ws = await listen(wsServer, 0, '127.0.0.1');
  const hb = await listen(wsHeartbeat, 0, '127.0.0.1');
  const tcp = await listen(tcpServer, 0, '127.0.0.1');
  await listen(unixServer, unixPath);
  print({
    ready: true,
    ws: ws.port,
    wsHeartbeat: hb.port,
    tcp: tcp.port,
    unix: unixPath,
  });
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', onCommand);
  rl.on('close', () => {
    cleanup();
    process.exit(0);
  });
})().catch(err => {
  print({ ev: 'fatal', message: String(err && err.stack) });
  cleanup();
  process.exit(1);
});

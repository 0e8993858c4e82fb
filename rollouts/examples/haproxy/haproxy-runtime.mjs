#!/usr/bin/env node
// Talks to HAProxy's runtime API (the stats socket) for one server, so rollout steps stay
// argv commands (no shell, no socat):
//
//   node haproxy-runtime.mjs set-state BACKEND SERVER drain|ready|maint
//   node haproxy-runtime.mjs check BACKEND SERVER drained|up
//
// `set-state` sends `set server BACKEND/SERVER state ...` and exits 0 when HAProxy accepts it.
// `check` reads `show stat` once and exits 0 when the server is in the asked state, 1 when not
// yet (Fleetgate polls it as an `until` check), 2 on a usage or socket error:
//   drained  the server takes no new requests (its status is not UP: DRAIN, MAINT, DOWN, NOLB)
//            and holds 0 current sessions (scur);
//   up       HAProxy reports it UP: ready again and its health checks pass.
// Every line printed says what HAProxy reported (status, scur), so a failed step explains itself.
//
// The socket is $HAPROXY_SOCKET, default /run/haproxy/admin.sock (Debian's haproxy.cfg declares
// `stats socket /run/haproxy/admin.sock mode 660 level admin`); it needs `level admin` for
// set-state. Names are checked before they reach HAProxy: its CLI splits commands on `;` and
// line breaks, so a name holding one could run a second command.
/* global process */
import { createConnection } from 'node:net';

const NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
const STATES = ['drain', 'ready', 'maint'];
const CHECKS = ['drained', 'up'];
const SOCKET = process.env.HAPROXY_SOCKET || '/run/haproxy/admin.sock';
const TIMEOUT_MS = 5000;

function usage(message) {
  process.stderr.write(
    `haproxy-runtime: ${message}\nusage: haproxy-runtime.mjs set-state BACKEND SERVER ${STATES.join('|')}\n` +
      `       haproxy-runtime.mjs check BACKEND SERVER ${CHECKS.join('|')}\n`,
  );
  process.exit(2);
}

/** Sends one command over the stats socket and resolves with the whole answer. */
function send(command) {
  return new Promise((resolve, reject) => {
    const socket = createConnection(SOCKET);
    let answer = '';
    socket.setEncoding('utf8');
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('error', (err) => reject(new Error(`${SOCKET}: ${err.message}`)));
    socket.on('close', (hadError) => {
      if (!hadError) resolve(answer);
    });
  });
}

/** The `show stat` row of BACKEND/SERVER as a map from column name to value, or undefined. */
async function serverRow(backend, server) {
  const csv = await send('show stat');
  const lines = csv.split('\n').filter((l) => l !== '');
  const header = (lines.shift() ?? '').replace(/^# /, '').split(',');
  for (const line of lines) {
    const cells = line.split(',');
    if (cells[0] === backend && cells[1] === server) return Object.fromEntries(header.map((h, i) => [h, cells[i]]));
  }
  return undefined;
}

async function main() {
  const [command, backend, server, what, ...rest] = process.argv.slice(2);
  if (rest.length > 0) usage('too many arguments');
  if (backend === undefined || !NAME.test(backend)) usage(`bad backend name ${JSON.stringify(backend)}`);
  if (server === undefined || !NAME.test(server)) usage(`bad server name ${JSON.stringify(server)}`);
  if (command === 'set-state') {
    if (!STATES.includes(what)) usage(`state must be one of ${STATES.join(', ')}`);
    const answer = (await send(`set server ${backend}/${server} state ${what}`)).trim();
    // HAProxy answers nothing on success, a message otherwise ("No such server.", "Permission denied").
    if (answer !== '') {
      process.stderr.write(`haproxy: ${answer}\n`);
      return 1;
    }
    process.stdout.write(`${backend}/${server}: state ${what}\n`);
    return 0;
  }
  if (command === 'check') {
    if (!CHECKS.includes(what)) usage(`check must be one of ${CHECKS.join(', ')}`);
    const row = await serverRow(backend, server);
    if (row === undefined) {
      process.stderr.write(`haproxy: no server ${backend}/${server} in show stat\n`);
      return 2;
    }
    const status = row.status ?? '';
    const scur = Number(row.scur ?? 'NaN');
    // "UP 1/2" is a server going down that still takes requests: in rotation.
    const inRotation = status === 'UP' || status.startsWith('UP ');
    const ok = what === 'up' ? status === 'UP' : !inRotation && scur === 0;
    process.stdout.write(`${backend}/${server}: status ${status}, scur ${row.scur}: ${ok ? '' : 'not '}${what}\n`);
    return ok ? 0 : 1;
  }
  usage(`unknown command ${JSON.stringify(command)}`);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`haproxy-runtime: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  },
);

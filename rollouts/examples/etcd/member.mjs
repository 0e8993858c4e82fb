#!/usr/bin/env node
/**
 * The etcd recipe's steps (rollouts/examples/etcd.yaml), one subcommand each, all
 * arguments passed as argv (no shell). It talks to etcd's v3 HTTP/JSON gateway
 * (`/v3/...`, served on every client URL) with Node's fetch; a member is
 * `<host:port>` (its client address) and, for start/stop/upgrade, its member
 * folder `<dir>` holding `argv.json` (etcd's flags), `pid`, `version` and `etcd.log`.
 *
 *   member.mjs start <dir>                  start etcd with <dir>/argv.json (detached)
 *   member.mjs stop <dir>                   SIGTERM, wait until the process is gone
 *   member.mjs upgrade <dir> <version>      stop, record the version, start again
 *   member.mjs version <address> <dir>      etcd answers /version → print <dir>/version
 *   member.mjs leader <address>             print the name of the current Raft leader (the leader step)
 *   member.mjs transfer <to-address>        move leadership to the member at <to-address> (transferLeadership)
 *   member.mjs healthy <address>            /health passes: serving, with a leader (verify)
 *   member.mjs caught-up <address> <bound>  applied index within <bound> entries of the leader's (caughtUp)
 *   member.mjs discover <cluster.json>      inventory JSON (target id = member name)
 *
 * A "version" here is what the member folder says it runs: the test restarts the same
 * etcd binary, so the member really goes down, comes back and must catch up.
 */
/* global process, fetch, AbortSignal */
import { spawn } from 'node:child_process';
import { appendFileSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const [cmd, ...args] = process.argv.slice(2);

function fail(message) {
  process.stderr.write(`member.mjs ${cmd}: ${message}\n`);
  process.exit(1);
}

/** POST a v3 gateway call; throws on a non-200 answer. */
async function v3(address, path, body = {}, timeoutMs = 2000) {
  const res = await fetch(`http://${address}/v3/${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${path} → ${res.status}: ${text.slice(0, 200)}`);
  return JSON.parse(text);
}

/** `{leaderName, leaderId, members: [{ID, name, clientURLs}]}` as `address` sees it. */
async function leaderOf(address) {
  const status = await v3(address, 'maintenance/status');
  const { members } = await v3(address, 'cluster/member/list');
  const leader = members.find((m) => m.ID === status.leader);
  return { leaderId: status.leader, leaderName: leader?.name, members, status };
}

/** `host:port` of a member's first client URL (`undefined` when it has none). */
function clientAddress(member) {
  return member?.clientURLs?.[0]?.replace(/^https?:\/\//, '');
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function start(dir) {
  const argv = JSON.parse(readFileSync(join(dir, 'argv.json'), 'utf8'));
  const log = openSync(join(dir, 'etcd.log'), 'a');
  const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
  writeFileSync(join(dir, 'pid'), String(child.pid));
  child.unref();
}

async function stop(dir) {
  let pid;
  try {
    pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
  } catch {
    return;
  }
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(50);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

switch (cmd) {
  case 'start':
    start(args[0]);
    break;
  case 'stop':
    await stop(args[0]);
    break;
  case 'upgrade': {
    const [dir, version] = args;
    if (!dir || !version) fail('usage: upgrade <dir> <version>');
    // Who led when this member went down (the quorum test asserts the leader went last).
    const address = JSON.parse(readFileSync(join(dir, 'member.json'), 'utf8')).address;
    let leader = 'unknown';
    try {
      leader = (await leaderOf(address)).leaderName ?? 'none';
    } catch {
      leader = 'unreachable';
    }
    const name = JSON.parse(readFileSync(join(dir, 'member.json'), 'utf8')).id;
    appendFileSync(join(dir, '..', 'moves.log'), `${JSON.stringify({ member: name, leader, at: Date.now() })}\n`);
    await stop(dir);
    writeFileSync(join(dir, 'version'), version);
    start(dir);
    break;
  }
  case 'version': {
    const [address, dir] = args;
    const res = await fetch(`http://${address}/version`, { signal: AbortSignal.timeout(2000) }).catch((e) =>
      fail(`${address}: ${e.cause?.code ?? e.message}`),
    );
    if (res.status !== 200) fail(`${address}/version → ${res.status}`);
    process.stdout.write(`${readFileSync(join(dir, 'version'), 'utf8').trim()}\n`);
    break;
  }
  case 'leader': {
    const { leaderName } = await leaderOf(args[0]).catch((e) => fail(e.message));
    if (!leaderName) fail('no leader');
    process.stdout.write(`${leaderName}\n`);
    break;
  }
  case 'transfer': {
    // etcd's MoveLeader must be asked of the leader; the transferee tells its own member id.
    const [to] = args;
    if (!to) fail('usage: transfer <to-address>');
    const seen = await leaderOf(to).catch((e) => fail(e.message));
    const targetID = seen.status.header.member_id;
    if (seen.leaderId === targetID) break;
    const leaderAddress = clientAddress(seen.members.find((m) => m.ID === seen.leaderId));
    if (!leaderAddress) fail('no leader to transfer from');
    await v3(leaderAddress, 'maintenance/transfer-leadership', { targetID }, 10_000).catch((e) => fail(e.message));
    process.stdout.write(`leadership moved to ${to}\n`);
    break;
  }
  case 'healthy': {
    const [address] = args;
    const health = await fetch(`http://${address}/health`, { signal: AbortSignal.timeout(2000) }).catch((e) =>
      fail(`${address}: ${e.cause?.code ?? e.message}`),
    );
    const body = await health.json().catch(() => ({}));
    if (health.status !== 200 || body.health !== 'true') fail(`${address}/health: ${JSON.stringify(body)}`);
    process.stdout.write('healthy\n');
    break;
  }
  case 'caught-up': {
    const [address, boundText] = args;
    const bound = Number(boundText ?? '0');
    const seen = await leaderOf(address).catch((e) => fail(e.message));
    const leader = seen.members.find((m) => m.ID === seen.leaderId);
    const leaderAddress = clientAddress(leader);
    if (!leaderAddress) fail('no leader');
    const lead = await v3(leaderAddress, 'maintenance/status').catch((e) => fail(e.message));
    const mine = Number(seen.status.raftAppliedIndex ?? seen.status.raftIndex);
    const theirs = Number(lead.raftAppliedIndex ?? lead.raftIndex);
    if (theirs - mine > bound) fail(`applied index ${mine}, leader ${leader.name} at ${theirs} (bound ${bound})`);
    process.stdout.write(`applied ${mine}, leader ${theirs}\n`);
    break;
  }
  case 'discover': {
    const cluster = JSON.parse(readFileSync(args[0], 'utf8'));
    const targets = cluster.members.map((m) => ({
      id: m.id,
      address: m.address,
      labels: { role: 'etcd', dir: m.dir },
    }));
    process.stdout.write(`${JSON.stringify({ targets })}\n`);
    break;
  }
  default:
    fail('unknown subcommand (start, stop, upgrade, version, leader, transfer, healthy, caught-up, discover)');
}

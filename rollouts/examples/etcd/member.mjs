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
 *   member.mjs leader <address>             print the name of the current Raft leader
 *   member.mjs transfer <address> <name>    move leadership to member <name> (asked of the leader)
 *   member.mjs caught-up <address> <bound>  healthy, and applied index within <bound> entries of the leader's
 *   member.mjs discover <cluster.json>      inventory JSON; the current leader labelled raft-leader: "true"
 *   member.mjs not-leader <address> <name>  passes once <name> does not lead (the drain's until)
 *   member.mjs hand-off <cluster.json> <name> <version>
 *                                           drain: when <name> leads, move leadership to a member on <version>
 *
 * A "version" here is what the member folder says it runs: the test restarts the same
 * etcd binary, so the member really goes down, comes back and must catch up.
 */
/* global process, fetch, AbortSignal */
import { spawn, spawnSync } from 'node:child_process';
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

function spawnSyncNode(argv) {
  return spawnSync(process.execPath, [process.argv[1], ...argv], { encoding: 'utf8', timeout: 15_000 });
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
    const [address, to] = args;
    const seen = await leaderOf(address).catch((e) => fail(e.message));
    const target = seen.members.find((m) => m.name === to);
    if (!target) fail(`no member named ${to}`);
    if (seen.leaderId === target.ID) break;
    const leader = seen.members.find((m) => m.ID === seen.leaderId);
    const leaderAddress = leader?.clientURLs?.[0]?.replace(/^https?:\/\//, '');
    if (!leaderAddress) fail('no leader to transfer from');
    await v3(leaderAddress, 'maintenance/transfer-leadership', { targetID: target.ID }, 10_000).catch((e) =>
      fail(e.message),
    );
    for (let i = 0; i < 100; i++) {
      const now = await leaderOf(address).catch(() => undefined);
      if (now?.leaderId === target.ID) process.exit(0);
      await sleep(50);
    }
    fail(`leadership did not move to ${to}`);
    break;
  }
  case 'caught-up': {
    const [address, boundText] = args;
    const bound = Number(boundText ?? '0');
    const health = await fetch(`http://${address}/health`, { signal: AbortSignal.timeout(2000) }).catch((e) =>
      fail(`${address}: ${e.cause?.code ?? e.message}`),
    );
    const body = await health.json().catch(() => ({}));
    if (health.status !== 200 || body.health !== 'true') fail(`${address}/health: ${JSON.stringify(body)}`);
    const seen = await leaderOf(address).catch((e) => fail(e.message));
    const leader = seen.members.find((m) => m.ID === seen.leaderId);
    const leaderAddress = leader?.clientURLs?.[0]?.replace(/^https?:\/\//, '');
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
    let leaderName;
    for (const m of cluster.members) {
      leaderName = await leaderOf(m.address)
        .then((r) => r.leaderName)
        .catch(() => undefined);
      if (leaderName) break;
    }
    const targets = cluster.members.map((m) => ({
      id: m.id,
      address: m.address,
      labels: { role: 'etcd', dir: m.dir, ...(m.id === leaderName ? { 'raft-leader': 'true' } : {}) },
    }));
    process.stdout.write(`${JSON.stringify({ targets })}\n`);
    break;
  }
  case 'not-leader': {
    const [address, name] = args;
    const seen = await leaderOf(address).catch((e) => fail(e.message));
    if (!seen.leaderName) fail('no leader yet');
    if (seen.leaderName === name) fail(`${name} still leads`);
    process.stdout.write(`${seen.leaderName} leads\n`);
    break;
  }
  case 'hand-off': {
    const [file, name, version] = args;
    const cluster = JSON.parse(readFileSync(file, 'utf8'));
    const me = cluster.members.find((m) => m.id === name);
    if (!me) fail(`no member ${name} in ${file}`);
    const seen = await leaderOf(me.address).catch((e) => fail(e.message));
    if (seen.leaderName !== name) break;
    const onVersion = cluster.members.filter((m) => {
      if (m.id === name) return false;
      try {
        return readFileSync(join(m.dir, 'version'), 'utf8').trim() === version;
      } catch {
        return false;
      }
    });
    const to = onVersion[0] ?? cluster.members.find((m) => m.id !== name);
    const res = spawnSyncNode(['transfer', me.address, to.id]);
    if (res.status !== 0) fail(`transfer to ${to.id} failed: ${res.stderr}`);
    process.stdout.write(`leadership moved from ${name} to ${to.id}\n`);
    break;
  }
  default:
    fail('unknown subcommand (start, stop, upgrade, version, leader, transfer, caught-up, discover)');
}

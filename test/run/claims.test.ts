import { mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CUT_SHORT_MS, STALE_MS, UnitClaims } from '../../src/run/claims.js';
import { FatalError } from '../../src/util/errors.js';
import { pidNamespace, processStartTime } from '../../src/util/processes.js';
import { scratchDir } from '../helpers/cli.js';

/** Claims as two processes, a dead one and a dead node leave them. */
function claimFile(stateDir: string, unit: string, claim: object, ageMs = 0): void {
  const dir = join(stateDir, 'claims', 'detect');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${unit}.json`);
  writeFileSync(path, JSON.stringify(claim));
  const time = new Date(Date.now() - ageMs);
  utimesSync(path, time, time);
}

/** Tries to take a claim from another process; resolves with what it got. */
function takeInAnotherProcess(stateDir: string, unit: string): Promise<unknown> {
  const script = `import { UnitClaims } from ${JSON.stringify(new URL('../../src/run/claims.js', import.meta.url).href)};
const claims = new UnitClaims(${JSON.stringify(stateDir)});
const got = await claims.take('detect', ${JSON.stringify(unit)});
process.stdout.write(JSON.stringify(got));
await claims.close();`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], (error, stdout) => (error ? reject(error) : resolve(JSON.parse(stdout))));
  });
}

test('a claim is taken once: another process is told who has it; released, it can be taken again', async () => {
  const stateDir = scratchDir('claims');
  const claims = new UnitClaims(stateDir);
  try {
    assert.equal(await claims.take('detect', 'a'), true);
    assert.deepEqual(await takeInAnotherProcess(stateDir, 'a'), { host: hostname(), pid: process.pid });
    await claims.release('detect', 'a');
    assert.equal(await takeInAnotherProcess(stateDir, 'a'), true);
    // That process is gone and its claim released: this one takes it again.
    assert.equal(await claims.take('detect', 'a'), true);
  } finally {
    await claims.close();
  }
});

test('a claim of a process that is gone, or of a node whose heartbeat stopped, is taken over; a live one is not', async () => {
  const stateDir = scratchDir('claims');
  const claims = new UnitClaims(stateDir);
  try {
    // A pid far above any in use on this host: that process is gone (killed with SIGKILL).
    claimFile(stateDir, 'dead', { host: hostname(), pid: 2 ** 22 + 12345, token: 't1' });
    assert.equal(await claims.take('detect', 'dead'), true);
    claimFile(stateDir, 'away', { host: 'node-that-died', pid: 1, token: 't2' }, STALE_MS + 5000);
    assert.equal(await claims.take('detect', 'away'), true);
    claimFile(stateDir, 'busy', { host: 'another-node', pid: 7, token: 't3' }, 1000);
    // Another node's claim: dfdc cannot see its process, only when its heartbeat would lapse.
    const busy = await claims.take('detect', 'busy');
    assert.ok(busy !== true && busy.host === 'another-node' && busy.pid === 7, JSON.stringify(busy));
    assert.ok(busy.lapsesInMs! > STALE_MS - 10_000 && busy.lapsesInMs! <= STALE_MS - 1000, `lapses in ${busy.lapsesInMs} ms`);
    // A claim cut short by its writer's death (empty) is no one's once it is old.
    claimFile(stateDir, 'cut', {}, STALE_MS + 5000);
    writeFileSync(join(stateDir, 'claims', 'detect', 'cut.json'), '');
    utimesSync(join(stateDir, 'claims', 'detect', 'cut.json'), new Date(Date.now() - STALE_MS - 5000), new Date(Date.now() - STALE_MS - 5000));
    assert.equal(await claims.take('detect', 'cut'), true);
  } finally {
    await claims.close();
  }
  // close() released what it held, and only that.
  assert.deepEqual(readdirSync(join(stateDir, 'claims', 'detect')), ['busy.json']);
});

test('a claim cut short (its writer killed between creating and writing it) is taken over once it has stayed empty a moment; one being written is not', async () => {
  const stateDir = scratchDir('claims-cut');
  const claims = new UnitClaims(stateDir);
  const dir = join(stateDir, 'claims', 'detect');
  try {
    // Just made and empty, as a kill -9 right after the exclusive create leaves it: a rerun at once takes it.
    claimFile(stateDir, 'fresh', {});
    writeFileSync(join(dir, 'fresh.json'), '');
    const started = Date.now();
    assert.equal(await claims.take('detect', 'fresh'), true);
    assert.ok(Date.now() - started >= CUT_SHORT_MS - 100, 'a fresh empty claim was taken without waiting for its writer');
    // Empty now, written by a live process a moment later: it is that process's.
    claimFile(stateDir, 'writing', {});
    writeFileSync(join(dir, 'writing.json'), '');
    setTimeout(() => writeFileSync(join(dir, 'writing.json'), JSON.stringify({ host: 'another-node', pid: 7, token: 't4', since: '' })), 300);
    const writing = await claims.take('detect', 'writing');
    assert.ok(writing !== true && writing.host === 'another-node' && writing.pid === 7, JSON.stringify(writing));
  } finally {
    await claims.close();
  }
});

test('a stage\'s start sweeps the claims of processes that are gone (killed after their unit was complete), and leaves live ones', async () => {
  const stateDir = scratchDir('claims-sweep');
  const dead = { host: hostname(), pid: 2 ** 22 + 12345, token: 't1' };
  claimFile(stateDir, 'done-then-killed', dead);
  claimFile(stateDir, 'dead-node', { host: 'node-that-died', pid: 1, token: 't2' }, STALE_MS + 5000);
  claimFile(stateDir, 'live-here', { host: hostname(), pid: process.ppid, token: 't3' });
  claimFile(stateDir, 'live-there', { host: 'another-node', pid: 7, token: 't4' }, 1000);
  claimFile(stateDir, 'cut-short', {}, CUT_SHORT_MS + 1000);
  const dir = join(stateDir, 'claims', 'detect');
  writeFileSync(join(dir, 'cut-short.json'), '');
  utimesSync(join(dir, 'cut-short.json'), new Date(Date.now() - CUT_SHORT_MS - 1000), new Date(Date.now() - CUT_SHORT_MS - 1000));
  writeFileSync(join(dir, 'aside.json.stale.4194999.0a1b2c3d'), JSON.stringify(dead));
  const claims = new UnitClaims(stateDir);
  try {
    await claims.sweep('detect');
    await claims.sweep('crops'); // no claims folder: nothing to do
  } finally {
    await claims.close();
  }
  assert.deepEqual(readdirSync(dir).sort(), ['live-here.json', 'live-there.json']);
});

test('a live process of this host holds its claim however long it was stopped; the same pid started anew does not; another pid namespace of this host name goes by the heartbeat', async () => {
  const stateDir = scratchDir('claims-identity');
  const claims = new UnitClaims(stateDir);
  const parent = process.ppid;
  const started = processStartTime(parent);
  try {
    if (started === undefined) {
      // Without /proc there is no start time to tell a stopped process from a reused pid: the heartbeat decides.
      claimFile(stateDir, 'stopped', { host: hostname(), pid: parent, token: 't1' }, STALE_MS + 5000);
      assert.equal(await claims.take('detect', 'stopped'), true);
      return;
    }
    // Ctrl-Z for two minutes: no heartbeat, but its process is there, started when the claim says.
    claimFile(stateDir, 'stopped', { host: hostname(), pid: parent, token: 't1', pidns: pidNamespace(), started }, STALE_MS + 60_000);
    assert.deepEqual(await claims.take('detect', 'stopped'), { host: hostname(), pid: parent });
    // The pid was reused by a process that started at another time: the claim's holder is gone.
    claimFile(stateDir, 'reused', { host: hostname(), pid: parent, token: 't2', pidns: pidNamespace(), started: started + 1 });
    assert.equal(await claims.take('detect', 'reused'), true);
    // A container with the host's name (--network host): its pids are not ours, whether or not one matches.
    claimFile(stateDir, 'container', { host: hostname(), pid: 2 ** 22 + 12345, token: 't3', pidns: 'pid:[1]', started: 5 }, 1000);
    const held = await claims.take('detect', 'container');
    assert.ok(held !== true && held.lapsesInMs! > 0, JSON.stringify(held));
    claimFile(stateDir, 'container-gone', { host: hostname(), pid: process.pid, token: 't4', pidns: 'pid:[1]', started: 5 }, STALE_MS + 5000);
    assert.equal(await claims.take('detect', 'container-gone'), true);
  } finally {
    await claims.close();
  }
});

test('a claim that cannot be read (a folder made by hand in its place) stops the stage with one line naming the fix; a claim taken over is no longer held', async () => {
  const stateDir = scratchDir('claims-unreadable');
  const claims = new UnitClaims(stateDir);
  try {
    mkdirSync(join(stateDir, 'claims', 'detect', 'odd.json'), { recursive: true });
    await assert.rejects(claims.take('detect', 'odd'), (error: unknown) => error instanceof FatalError && /^\/.*odd\.json is a folder, where dfdc keeps a file \(a claim on a unit\): remove it \(rm -r\), then rerun$/.test(error.message));
    await assert.rejects(claims.sweep('detect'), FatalError);
    assert.equal(await claims.take('detect', 'a'), true);
    assert.equal(await claims.holds('detect', 'a'), true);
    // Another process took it over while this one was stopped.
    writeFileSync(join(stateDir, 'claims', 'detect', 'a.json'), JSON.stringify({ host: 'node7', pid: 3, token: 'theirs', since: '' }));
    assert.equal(await claims.holds('detect', 'a'), false);
    assert.equal(await claims.holds('detect', 'never-taken'), false);
  } finally {
    await claims.close();
  }
  assert.ok(readdirSync(join(stateDir, 'claims', 'detect')).includes('a.json'), 'a claim no longer ours was released');
});

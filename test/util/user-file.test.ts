import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, constants, existsSync, openSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { STALE_TEMPORARY_MS } from '../../src/util/atomic-write.js';
import { writeUserFile } from '../../src/util/user-file.js';
import { scratchDir } from '../helpers/cli.js';

/**
 * Files a user names (--out), written by writeUserFile: FIFOs that wait for a reader and stop on a
 * signal, permissions kept, temporaries of other writers left alone. (The commands' own --out
 * behaviour is in test/commands/out-files.test.ts.)
 */

/** A FIFO in a scratch folder (mkfifo is in coreutils, on every machine that runs these tests). */
function makeFifo(name: string): string {
  const fifo = join(scratchDir(name), 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  return fifo;
}

const lines = (count: number) => Array.from({ length: count }, (_, i) => `row ${i},${'x'.repeat(60)}\n`);

test('--out into a FIFO: written whole once a reader comes, which may come after the writer', { timeout: 30_000 }, async () => {
  const fifo = makeFifo('user-file-fifo');
  const told: string[] = [];
  const writing = writeUserFile(fifo, '--out', lines(20_000), { tell: (line) => told.push(line) });
  // The reader starts 1.5 s later, as `dfdc folds --out fifo & sleep 1; cat fifo` would.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const reader = spawn('cat', [fifo]);
  let read = '';
  reader.stdout.on('data', (chunk: Buffer) => (read += chunk.toString()));
  const ended = new Promise((resolve) => reader.on('close', resolve));
  await writing;
  await ended;
  assert.equal(read, lines(20_000).join(''));
  assert.equal(told.length, 1);
  assert.match(told[0]!, /^--out .*fifo is a FIFO that no process reads: waiting for a reader \(start it, e\.g\. cat .*fifo; Ctrl-C stops\)$/);
});

test('--out into a FIFO no one reads, or whose reader stopped reading: a stop signal ends the write, with its own reason', { timeout: 30_000 }, async () => {
  const fifo = makeFifo('user-file-fifo-stop');
  // No reader at all: the writer waits, and says so, until it is stopped.
  const stop = new AbortController();
  const stopped = new Error('stopped by SIGTERM');
  const told: string[] = [];
  const waiting = writeUserFile(fifo, '--out', lines(10), { signal: stop.signal, tell: (line) => (told.push(line), stop.abort(stopped)) });
  await assert.rejects(waiting, (error) => error === stopped);
  assert.equal(told.length, 1);

  // A reader that holds the FIFO open and reads nothing: the pipe fills (64 KiB) and the writer waits on it.
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const again = new AbortController();
    const filling = writeUserFile(fifo, '--out', lines(100_000), { signal: again.signal });
    setTimeout(() => again.abort(stopped), 500);
    await assert.rejects(filling, (error) => error === stopped);
  } finally {
    closeSync(reader);
  }
});

test('--out replacing a file keeps its permissions (a group-writable file a team shares)', async () => {
  const file = join(scratchDir('user-file-mode'), 'folds.csv');
  writeFileSync(file, 'old\n');
  chmodSync(file, 0o664);
  await writeUserFile(file, '--out', ['new\n']);
  assert.equal(readFileSync(file, 'utf8'), 'new\n');
  assert.equal(statSync(file).mode & 0o777, 0o664);
  chmodSync(file, 0o600);
  await writeUserFile(file, '--out', ['newer\n']);
  assert.equal(statSync(file).mode & 0o777, 0o600);
});

test("--out replacing a private file never shows its rows to others: the temporary has the file's mode from its first byte; another writer's young temporary is left alone, a killed one's old one removed", async () => {
  const dir = scratchDir('user-file-private');
  const file = join(dir, 'folds.csv');
  writeFileSync(file, 'old\n');
  chmodSync(file, 0o600);
  const young = join(dir, '.folds.csv.99999999.1.tmp');
  const old = join(dir, '.folds.csv.99999998.1.tmp');
  writeFileSync(young, 'another writer, writing');
  writeFileSync(old, 'a killed writer');
  const long = (Date.now() - STALE_TEMPORARY_MS - 60_000) / 1000;
  utimesSync(old, long, long);
  const modes: number[] = [];
  const ours = () => readdirSync(dir).filter((name) => name.startsWith('.folds.csv.') && name.includes(`.${process.pid}.`));
  async function* rows(): AsyncGenerator<string> {
    yield 'first\n';
    // The write is under way: its temporary appears in the folder (opened while rows are made).
    for (let tries = 0; ours().length === 0 && tries < 200; tries++) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const name of ours()) modes.push(statSync(join(dir, name)).mode & 0o777);
    yield 'second\n';
  }
  await writeUserFile(file, '--out', rows());
  assert.deepEqual(modes, [0o600]);
  assert.equal(readFileSync(file, 'utf8'), 'first\nsecond\n');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(existsSync(young), "another process's temporary was removed while it may be writing");
  assert.equal(existsSync(old), false);
});

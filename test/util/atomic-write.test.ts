import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  keepFolders,
  makeFolder,
  STALE_TEMPORARY_MS,
  TemporaryIndex,
  removeStaleTemporaries,
  removeTemporariesOf,
  temporaryPathFor,
  writeAtomicWith,
  writeFileAtomic,
  writeUserFile,
} from '../../src/util/atomic-write.js';
import { FatalError } from '../../src/util/errors.js';
import { scratchDir } from '../helpers/cli.js';

/** The atomic writer: whole or absent, never half; temporaries named, found and cleared. */

test('a file is written whole through a hidden temporary, and replaced whole', async () => {
  const dir = join(scratchDir('atomic'), 'a', 'b');
  const path = join(dir, 'x.json');
  await writeFileAtomic(path, 'first');
  await writeFileAtomic(path, 'second, longer');
  assert.equal(readFileSync(path, 'utf8'), 'second, longer');
  assert.deepEqual(readdirSync(dir), ['x.json'], 'no temporary left');
});

test('a writer that fails leaves neither the file nor a temporary', async () => {
  const dir = scratchDir('atomic-fail');
  const path = join(dir, 'x.png');
  await assert.rejects(
    writeAtomicWith(path, async (temporary) => {
      writeFileSync(temporary, 'half');
      throw new Error('encoder crashed');
    }),
    /encoder crashed/,
  );
  assert.deepEqual(readdirSync(dir), []);
});

test('a folder that cannot be made is a FatalError naming where (a file in the way)', async () => {
  const dir = scratchDir('atomic-blocked');
  writeFileSync(join(dir, 'file'), 'x');
  await assert.rejects(writeFileAtomic(join(dir, 'file', 'sub', 'x.json'), 'x'), (error: unknown) => error instanceof FatalError && /: .*\/file is a file where a folder is needed \(ENOTDIR\)/.test(error.message));
});

test('temporary names stay within the file-name limit and are hidden', () => {
  const long = join('/out', `${'é'.repeat(120)}.json`);
  const name = basename(temporaryPathFor(long));
  assert.ok(name.startsWith('.') && name.endsWith('.tmp'));
  assert.ok(Buffer.byteLength(name) <= 160, `${Buffer.byteLength(name)} bytes`);
  assert.ok(!name.includes('\uFFFD'), 'no broken character where the name was cut');
});

test("one listing finds the temporaries of each file; only a file's own are removed", async () => {
  const dir = scratchDir('atomic-index');
  for (const name of ['.a.json.11.1.tmp', '.a.json.12.7.tmp', '.b.json.11.2.tmp', 'a.json', '.hidden']) writeFileSync(join(dir, name), '');
  const index = await TemporaryIndex.of(dir);
  assert.deepEqual(index.of(join(dir, 'a.json')).map((p) => basename(p)).sort(), ['.a.json.11.1.tmp', '.a.json.12.7.tmp']);
  assert.deepEqual(index.of(join(dir, 'c.json')), []);
  await removeTemporariesOf(join(dir, 'a.json'), index);
  assert.deepEqual(readdirSync(dir).sort(), ['.b.json.11.2.tmp', '.hidden', 'a.json']);
  assert.deepEqual((await TemporaryIndex.of(join(dir, 'absent'))).of(join(dir, 'absent', 'x')), []);
});

test('a staging folder a killed run left (a folder unit made under a temporary name) is removed whole, with what is in it', async () => {
  const dir = scratchDir('atomic-staging');
  const staging = join(dir, '.real_b.4242.50.tmp');
  mkdirSync(staging);
  for (const name of ['30_0.png', '.40_0.png.4242.61.tmp']) writeFileSync(join(staging, name), 'x');
  writeFileSync(join(dir, 'other.png'), 'x');
  await removeTemporariesOf(join(dir, 'real_b'));
  assert.deepEqual(readdirSync(dir), ['other.png']);
});

test('a shared file sheds only old temporaries: a young one may be another process writing', async () => {
  const dir = scratchDir('atomic-stale');
  mkdirSync(dir, { recursive: true });
  const old = join(dir, '.p.json.5.1.tmp');
  const young = join(dir, '.p.json.6.1.tmp');
  writeFileSync(old, '');
  writeFileSync(young, '');
  const past = new Date(Date.now() - STALE_TEMPORARY_MS - 60_000);
  utimesSync(old, past, past);
  await removeStaleTemporaries(join(dir, 'p.json'));
  assert.equal(existsSync(old), false);
  assert.equal(existsSync(young), true);
});

test('a kept folder (the output folder) that went while the run wrote is never made again: a FatalError says so', async () => {
  const dir = scratchDir('kept-folders');
  const output = join(dir, 'out');
  mkdirSync(join(output, 'crops'), { recursive: true });
  keepFolders([output]);
  // Below a kept folder that is there, anything missing is made.
  await writeFileAtomic(join(output, 'crops', 'v', '0_0.png'), 'x');
  assert.equal(readFileSync(join(output, 'crops', 'v', '0_0.png'), 'utf8'), 'x');
  // Moved away mid-run: the next write stops the run and leaves nothing where it was.
  renameSync(output, join(dir, 'moved'));
  await assert.rejects(writeFileAtomic(join(output, 'crops', '.v.1.tmp', '10_0.png'), 'y'), (error: unknown) => error instanceof FatalError && /out is gone: it was moved or deleted while dfdc was writing in it/.test(error.message));
  assert.equal(existsSync(output), false);
  await assert.rejects(makeFolder(join(output, 'landmarks')), FatalError);
  assert.equal(existsSync(output), false);
});

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

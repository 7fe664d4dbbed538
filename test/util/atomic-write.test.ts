import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
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
} from '../../src/util/atomic-write.js';
import { FatalError } from '../../src/util/errors.js';
import { temporaryTarget } from '../../src/util/file-names.js';
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
  // Another process of the same pid (each container's dfdc is pid 1) has another token.
  assert.match(basename(temporaryPathFor('/out/a.json')), new RegExp(`^\\.a\\.json\\.${process.pid}\\.\\d+-[0-9a-f]{8}\\.tmp$`));
  assert.equal(temporaryTarget(basename(temporaryPathFor('/out/a.json'))), 'a.json');
  assert.equal(temporaryTarget('.a.json.12.7.tmp'), 'a.json', "dfdc 0.1's temporaries are still known");
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


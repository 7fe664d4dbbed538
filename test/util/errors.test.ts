import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FatalError,
  UnitError,
  UsageError,
  errnoCode,
  errorFromMessage,
  errorToMessage,
  machineFailure,
  oneLine,
  writeFailure,
} from '../../src/util/errors.js';

/** The one place that gives errors their kind, their one-line message, and their way across threads. */

/** What sharp (libvips) threw when a PNG was written on a full tmpfs and into a read-only bind mount, here. */
const libvipsDiskFull =
  '/out/crops/x/.0_0.png.9.1.tmp: write error\nsystem error: No space left on device\nwbuffer_write: write failed\nsystem error: Unknown error -1\nvips2png: unable to write to target /out/crops/x/.0_0.png.9.1.tmp';
const libvipsReadOnly =
  '/out/crops/x/.0_0.png.9.1.tmp: unable to open for write\nsystem error: Read-only file system\n/out/crops/x/.0_0.png.9.1.tmp: write error\nsystem error: Read-only file system\nvips2png: unable to write to target /out/crops/x/.0_0.png.9.1.tmp';

test('every message is one line: libvips keeps its first line and the first system error', () => {
  assert.equal(oneLine(libvipsDiskFull), '/out/crops/x/.0_0.png.9.1.tmp: write error (No space left on device)');
  assert.equal(new UnitError('a\nb').message, 'a');
  assert.equal(oneLine('  one line  '), 'one line');
});

test('errno codes come from the error, or from the text of a libvips error', () => {
  assert.equal(errnoCode(Object.assign(new Error('x'), { code: 'EACCES' })), 'EACCES');
  assert.equal(errnoCode(new Error(libvipsDiskFull)), 'ENOSPC');
  assert.equal(errnoCode(new Error(libvipsReadOnly)), 'EROFS');
  assert.equal(errnoCode(new Error('vipspng: libpng read error')), undefined);
});

test('a write that fails for the machine is a FatalError naming the folder written in and the fix', () => {
  const full = writeFailure(new Error(libvipsDiskFull), '/out/crops/x/0_0.png');
  assert.ok(full instanceof FatalError);
  assert.equal(full.message, 'no space left to write in /out/crops/x (ENOSPC): free some space or give --output-dir a folder on another disk, then rerun (completed outputs are kept)');
  const readOnly = writeFailure(new Error(libvipsReadOnly), '/out/crops/x/0_0.png');
  assert.match((readOnly as Error).message, /^cannot write in \/out\/crops\/x \(EROFS: read-only file system\): give --output-dir a folder on a writable disk \(the data set may stay where it is\), then rerun$/);
  const denied = writeFailure(Object.assign(new Error("EACCES: permission denied, mkdir '/out/crops/x'"), { code: 'EACCES', syscall: 'mkdir', path: '/out/crops/x' }), '/out/crops/x/0_0.png');
  assert.match((denied as Error).message, /^cannot write in \/out\/crops \(EACCES: permission denied\)/, 'the folder in which x could not be made');
  const other = new Error('something else');
  assert.equal(writeFailure(other, '/out/a'), other, 'any other error comes back unchanged');
  // A unit's crops are written in a temporary folder, gone by the time the message is read: the
  // message names the folder the user knows.
  const inTemporary = writeFailure(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' }), '/out/crops/.real_b.6886.32.tmp/0_0.png');
  assert.match((inTemporary as Error).message, /^no space left to write in \/out\/crops \(ENOSPC\)/);
  assert.match(machineFailure(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC', path: '/out/crops/.v.1.2.tmp/3_0.png' }), '/out')?.message ?? '', /^no space left to write in \/out\/crops \(ENOSPC\)/);
  // A file size limit (ulimit -f) fails every later write too.
  const tooLarge = writeFailure(Object.assign(new Error('EFBIG: file too large, write'), { code: 'EFBIG', syscall: 'write' }), '/out/crops/x/0_0.png');
  assert.ok(tooLarge instanceof FatalError);
  assert.match(tooLarge.message, /^a file larger than this process may write, in \/out\/crops\/x \(EFBIG\): raise the file size limit \(ulimit -f\), then rerun$/);
});

test('machine failures whatever the file; a permission error is left to the caller', () => {
  assert.match(machineFailure(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }), '/out')?.message ?? '', /^no space left to write in \/out \(ENOSPC\)/);
  assert.equal(machineFailure(Object.assign(new Error('EACCES'), { code: 'EACCES', path: '/data/v.mp4' }), '/out'), undefined);
  assert.equal(machineFailure(new Error('not a video'), '/out'), undefined);
});

test('errors cross threads with their kind, file and errno fields', () => {
  const unit = errorFromMessage(structuredClone(errorToMessage(new UnitError('/c/0_0.png: not a readable image', { file: '/c/0_0.png' }))));
  assert.ok(unit instanceof UnitError);
  assert.equal((unit as UnitError).file, '/c/0_0.png');
  assert.ok(errorFromMessage(structuredClone(errorToMessage(new FatalError('disk full')))) instanceof FatalError);
  assert.ok(errorFromMessage(structuredClone(errorToMessage(new UsageError('--x: bad')))) instanceof UsageError);
  const errno = errorFromMessage(structuredClone(errorToMessage(Object.assign(new Error('ENOSPC: no space'), { code: 'ENOSPC', syscall: 'write', path: '/out/a' })))) as NodeJS.ErrnoException;
  assert.deepEqual([errno.message, errno.code, errno.syscall, errno.path], ['ENOSPC: no space', 'ENOSPC', 'write', '/out/a']);
});

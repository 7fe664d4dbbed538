import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliEnvironment, cliPath, runCli, scratchDir } from '../helpers/cli.js';
import { copyInto, writeDataRoot } from '../helpers/data-root.js';
import { fixturesDir, sampleRoot } from '../helpers/shared.js';

/**
 * Files a user names with --out and the standard output a user redirects: what was asked for is
 * written where it was asked, nothing that is not a regular file is replaced, and a write that
 * fails is exit 3 with one line naming the fix that works for that flag.
 */

test('--out into a FIFO, /dev/stdout and through a symbolic link writes into them and replaces none', () => {
  const dir = scratchDir('out-files');
  const fifo = join(dir, 'fifo');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  // A reader on the FIFO, as `--out >(wc -l)` gives one.
  const reader = spawnSync('sh', ['-c', `cat '${fifo}' > '${join(dir, 'read.csv')}' & '${process.execPath}' '${cliPath}' index --root-dir '${sampleRoot}' --out '${fifo}'; wait`], { env: cliEnvironment(), encoding: 'utf8' });
  assert.equal(reader.status, 0, reader.stderr);
  assert.ok(lstatSync(fifo).isFIFO(), 'the FIFO was replaced');
  assert.equal(readFileSync(join(dir, 'read.csv'), 'utf8').split('\n')[0], 'id,path,label,original,split,group');

  // Through a shell's pipe, as a user types it (node's own stdio pipes are sockets, which /dev/stdout cannot open).
  const stdout = spawnSync('sh', ['-c', `'${process.execPath}' '${cliPath}' index --root-dir '${sampleRoot}' --out /dev/stdout | cat`], { env: cliEnvironment(), encoding: 'utf8' });
  assert.equal(stdout.status, 0, stdout.stderr);
  assert.match(stdout.stdout, /^id,path,label,original,split,group\n/);
  assert.ok(lstatSync('/dev/stdout').isSymbolicLink() || lstatSync('/dev/stdout').isCharacterDevice(), '/dev/stdout was replaced');

  mkdirSync(join(dir, 'shared'));
  writeFileSync(join(dir, 'shared', 'videos.csv'), 'old\n');
  symlinkSync(join(dir, 'shared', 'videos.csv'), join(dir, 'link.csv'));
  assert.equal(runCli(['index', '--root-dir', sampleRoot, '--out', join(dir, 'link.csv')]).status, 0);
  assert.ok(lstatSync(join(dir, 'link.csv')).isSymbolicLink());
  assert.match(readFileSync(join(dir, 'shared', 'videos.csv'), 'utf8'), /^id,path/);
});

test('a standard output that cannot be written (a full disk) is exit 3 with one line, not an empty file and exit 0', { skip: !existsSync('/dev/full') && 'no /dev/full here' }, () => {
  const full = openSync('/dev/full', 'w');
  try {
    const result = spawnSync(process.execPath, [cliPath, 'index', '--root-dir', sampleRoot], { env: cliEnvironment(), stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
    assert.equal(result.status, 3, result.stderr);
    assert.match(result.stderr, /^dfdc: cannot write standard output \(ENOSPC\): what it printed is incomplete; free some space where it is redirected/m);
  } finally {
    closeSync(full);
  }
  assert.ok(statSync('/dev/full').isCharacterDevice());
});

test('dfdc index prints the first ten videos not on disk, then how many more, and exits 1; --all names every one', async () => {
  const root = scratchDir('out-files');
  const absent = Array.from({ length: 14 }, (_, i) => ({ part: 0, name: `gone${String(i).padStart(2, '0')}.mp4`, label: 'REAL' as const, source: null }));
  await writeDataRoot(root, absent);
  const capped = runCli(['index', '--root-dir', root]);
  assert.equal(capped.status, 1, capped.stderr);
  assert.equal(capped.stderr.split('\n').filter((line) => /gone\d\d\.mp4: /.test(line)).length, 10);
  assert.match(capped.stderr, /^dfdc: 14 listed video\(s\) are not on disk or cannot be read \(the first 10 named above; --all names every one\)/m);
  assert.match(capped.stderr, /14 videos \(14 REAL, 0 FAKE\), 0 left out or in doubt, 14 not on disk or unreadable$/m);
  const all = runCli(['index', '--root-dir', root, '--all']);
  assert.equal(all.stderr.split('\n').filter((line) => /gone\d\d\.mp4: /.test(line)).length, 14);
});

test('a part folder this user may not read is named with the fix, another unreadable folder is mentioned, and a video it may not read is named: nothing left out without a word', async (t) => {
  const root = scratchDir('out-files');
  await writeDataRoot(root, [
    { part: 0, name: 'r.mp4', label: 'REAL', source: null },
    { part: 0, name: 'q.mp4', label: 'REAL', source: null },
    { part: 1, name: 's.mp4', label: 'REAL', source: null },
  ]);
  // A name no DFDC download gives (a colleague's folder, a NAS's recycle bin, or a renamed part):
  // mentioned, without an exit code of its own, since it may be anyone's.
  mkdirSync(join(root, 'alice_private'));
  writeFileSync(join(root, 'dfdc_train_part_0', 'q.mp4'), 'a video nobody may read');
  // chmod 000 stops its owner, but not root: root runs the CLI as nobody.
  const asNobody = process.getuid?.() === 0 ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'] : [];
  const command = [...asNobody, process.execPath, cliPath, 'index', '--root-dir', root];
  if (asNobody.length > 0) {
    spawnSync('chmod', ['-R', 'a+rX', root]);
    if (spawnSync('setpriv', [...asNobody.slice(1), 'test', '-r', cliPath]).status !== 0 || spawnSync('setpriv', [...asNobody.slice(1), 'test', '-r', join(root, 'dfdc_train_part_0', 'metadata.json')]).status !== 0) {
      t.skip('nobody may not read the build or the scratch folder here');
      return;
    }
  }
  for (const folder of ['dfdc_train_part_1', 'alice_private']) spawnSync('chmod', ['000', join(root, folder)]);
  spawnSync('chmod', ['000', join(root, 'dfdc_train_part_0', 'q.mp4')]);
  const result = spawnSync(command[0]!, command.slice(1), { env: cliEnvironment({ HOME: '/tmp' }), encoding: 'utf8' });
  for (const folder of ['dfdc_train_part_1', 'alice_private']) spawnSync('chmod', ['755', join(root, folder)]);
  assert.equal(result.status, 1, result.stderr);
  const escaped = (path: string) => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  assert.match(result.stderr, new RegExp(`dfdc_train_part_1/metadata\\.json: unreadable \\(EACCES\\); part skipped: make its folder and files readable for this user \\(chmod -R a\\+rX ${escaped(join(root, 'dfdc_train_part_1'))}\\), then rerun`));
  assert.match(result.stderr, new RegExp(`^dfdc: alice_private/: this user may not look into it, so dfdc cannot tell whether it is a part; if it is, make it readable \\(chmod -R a\\+rX ${escaped(join(root, 'alice_private'))}\\), then rerun$`, 'm'));
  assert.match(result.stderr, /index: dfdc layout, 2 videos \(2 REAL, 0 FAKE\), 1 left out or in doubt/, "the unreadable folder of another name is no problem of its own");
  if (asNobody.length > 0) {
    assert.match(result.stderr, new RegExp(`^dfdc: dfdc_train_part_0/q\\.mp4: may not be read by this user \\(EACCES\\): make it readable \\(chmod a\\+r ${escaped(join(root, 'dfdc_train_part_0', 'q.mp4'))}, and a\\+x on its folders\\), then rerun$`, 'm'));
    // The same folder in another layout's root says nothing of the layout: no "looks like dfdc and celebdf".
    const celebdf = scratchDir('out-files');
    copyInto(join(fixturesDir, 'celebdf'), celebdf);
    mkdirSync(join(celebdf, 'alice_private'));
    spawnSync('chmod', ['-R', 'a+rX', celebdf]);
    spawnSync('chmod', ['000', join(celebdf, 'alice_private')]);
    const other = spawnSync(asNobody[0]!, [...asNobody.slice(1), process.execPath, cliPath, 'index', '--root-dir', celebdf], { env: cliEnvironment({ HOME: '/tmp' }), encoding: 'utf8' });
    spawnSync('chmod', ['755', join(celebdf, 'alice_private')]);
    assert.equal(other.status, 0, other.stderr);
  }
});

test('--out naming an input of dfdc (a metadata.json, a video, a run report) is refused and the file kept', async () => {
  const root = scratchDir('out-files');
  await writeDataRoot(root, [{ part: 0, name: 'r.mp4', label: 'REAL', source: null }]);
  const metadata = join(root, 'dfdc_train_part_0', 'metadata.json');
  const before = readFileSync(metadata, 'utf8');
  const result = runCli(['index', '--root-dir', root, '--out', metadata]);
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /^dfdc: --out .*metadata\.json is an input of dfdc \(a data set list, a video, or a run's report or state\): give another file$/m);
  assert.equal(readFileSync(metadata, 'utf8'), before);
});

test('a file under /dev/shm is a file: written whole, not appended to', { skip: !existsSync('/dev/shm') && 'no /dev/shm' }, () => {
  const file = join('/dev/shm', `dfdc-out-${process.pid}.csv`);
  try {
    for (let i = 0; i < 2; i++) assert.equal(runCli(['index', '--root-dir', sampleRoot, '--out', file]).status, 0);
    assert.equal(readFileSync(file, 'utf8').split('\n').filter((line) => line.startsWith('id,')).length, 1);
  } finally {
    rmSync(file, { force: true });
  }
});

test('--out naming a manifest given by --manifest, or a FaceForensics++ split file, is refused too and the file kept', () => {
  const dir = scratchDir('out-files-inputs');
  const manifestRoot = copyInto(join(fixturesDir, 'manifest'), join(dir, 'manifest'));
  const list = join(dir, 'my-list.csv');
  writeFileSync(list, readFileSync(join(manifestRoot, 'manifest.csv')));
  const listed = readFileSync(list, 'utf8');
  const refused = runCli(['index', '--root-dir', manifestRoot, '--manifest', list, '--out', list]);
  assert.equal(refused.status, 2, refused.stderr);
  assert.match(refused.stderr, /^dfdc: --out .*my-list\.csv is an input of dfdc/m);
  assert.equal(readFileSync(list, 'utf8'), listed);

  const ffpp = copyInto(join(fixturesDir, 'ffpp'), join(dir, 'ffpp'));
  const test = join(ffpp, 'splits', 'test.json');
  const split = readFileSync(test, 'utf8');
  const splitRefused = runCli(['index', '--root-dir', ffpp, '--splits', join(ffpp, 'splits'), '--out', test]);
  assert.equal(splitRefused.status, 2, splitRefused.stderr);
  assert.equal(readFileSync(test, 'utf8'), split);
});

test('--out ending in / names a folder: a usage error, not a file of that name', () => {
  const dir = scratchDir('out-files-slash');
  writeFileSync(join(dir, 'f1.csv'), 'kept\n');
  for (const out of ['newdir/', 'f1.csv/', '.']) {
    const result = runCli(['index', '--root-dir', sampleRoot, '--out', out], { cwd: dir });
    assert.equal(result.status, 2, `${out}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`^dfdc: --out ${out.replace('.', '\\.')} names a folder: give a file name`, 'm'));
  }
  mkdirSync(join(dir, 'out'));
  const report = runCli(['report', '--root-dir', sampleRoot, '--output-dir', join(dir, 'out'), '--out', 'newdir/'], { cwd: dir });
  assert.equal(report.status, 2, report.stderr);
  assert.match(report.stderr, /^dfdc: --out newdir\/ names a folder: give a file name such as report\.html$/m);
  assert.equal(existsSync(join(dir, 'newdir')), false);
  assert.equal(readFileSync(join(dir, 'f1.csv'), 'utf8'), 'kept\n');
});

test("--out /dev/stdout when the standard output is a socket (a service manager's, node's own pipes) is written through it", () => {
  // spawnSync's stdout pipe is a Unix socket, which /proc/self/fd/1 cannot open again (ENXIO).
  const result = spawnSync(process.execPath, [cliPath, 'index', '--root-dir', sampleRoot, '--out', '/dev/stdout'], { env: cliEnvironment(), encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^id,path,label,original,split,group\n/);
});

/** nobody's uid and gid, as setpriv uses them. */
function nobodyIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

// Root, setpriv, and a checkout that user nobody may read (dfdc --version runs as nobody).
const asNobody =
  process.getuid?.() === 0 &&
  spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, cliPath, '--version'], { env: cliEnvironment() }).status === 0 &&
  spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'test', '-r', join(sampleRoot, 'dfdc_train_part_0', 'metadata.json')]).status === 0;

test('--out /dev/stdout when the standard output belongs to another user (sudo -u, setpriv) is written through it; a read-only file is not replaced', { skip: !asNobody && 'needs root, setpriv (util-linux) and a checkout user nobody may read, to run as another user' }, () => {
  const dir = scratchDir('out-files-user');
  chmodSync(dir, 0o777);
  const nobody = (args: string[], stdout: number | 'pipe' = 'pipe') =>
    spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, cliPath, ...args], { env: cliEnvironment(), stdio: ['ignore', stdout, 'pipe'], encoding: 'utf8' });
  // A file root opened for it (`sudo -u nobody dfdc ... > out.csv` from a root shell): mode 0644, root's.
  const redirected = join(dir, 'redirected.csv');
  const fd = openSync(redirected, 'w', 0o644);
  try {
    const result = nobody(['index', '--root-dir', sampleRoot, '--out', '/dev/stdout'], fd);
    assert.equal(result.status, 0, result.stderr);
  } finally {
    closeSync(fd);
  }
  assert.match(readFileSync(redirected, 'utf8'), /^id,path,label,original,split,group\n/);

  // Its own file, made read-only (chmod a-w), and root's, which it may not write.
  const readOnly = join(dir, 'read-only.csv');
  writeFileSync(readOnly, 'kept\n');
  chownSync(readOnly, nobodyIds().uid, nobodyIds().gid);
  chmodSync(readOnly, 0o444);
  const refused = nobody(['index', '--root-dir', sampleRoot, '--out', readOnly]);
  assert.equal(refused.status, 3, refused.stderr);
  assert.match(refused.stderr, /^dfdc: --out .*read-only\.csv is read-only for this user: make it writable \(chmod u\+w .*\) or give another file, then rerun$/m);
  assert.equal(readFileSync(readOnly, 'utf8'), 'kept\n');
  const roots = join(dir, 'roots.csv');
  writeFileSync(roots, 'kept\n', { mode: 0o644 });
  const notTheirs = nobody(['index', '--root-dir', sampleRoot, '--out', roots]);
  assert.equal(notTheirs.status, 3, notTheirs.stderr);
  assert.match(notTheirs.stderr, /^dfdc: --out .*roots\.csv is read-only for this user \(it belongs to another\): ask its owner to make it writable for you or give another file, then rerun$/m);
  assert.equal(readFileSync(roots, 'utf8'), 'kept\n');

  // A team's file (group users, 0664): rewritten by a member, it stays the team's.
  const users = spawnSync('getent', ['group', 'users'], { encoding: 'utf8' }).stdout.split(':')[2];
  if (users) {
    const shared = join(dir, 'shared.csv');
    writeFileSync(shared, 'old\n');
    chownSync(shared, 0, Number(users));
    chmodSync(shared, 0o664);
    const member = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', `--groups=${users}`, process.execPath, cliPath, 'index', '--root-dir', sampleRoot, '--out', shared], { env: cliEnvironment(), encoding: 'utf8' });
    assert.equal(member.status, 0, member.stderr);
    assert.equal(statSync(shared).gid, Number(users), 'the group went');
    assert.equal(statSync(shared).mode & 0o777, 0o664);
  }

  // Root's file, writable by all, in a sticky folder (as /tmp): only its owner may rename over it.
  const sticky = join(dir, 'sticky');
  mkdirSync(sticky);
  chmodSync(sticky, 0o1777);
  writeFileSync(join(sticky, 'w.csv'), 'kept\n');
  chmodSync(join(sticky, 'w.csv'), 0o666);
  const inSticky = nobody(['index', '--root-dir', sampleRoot, '--out', join(sticky, 'w.csv')]);
  assert.equal(inSticky.status, 3, inSticky.stderr);
  assert.match(inSticky.stderr, /^dfdc: --out .*w\.csv belongs to another user, in a folder where only a file's owner may replace it \(sticky, as \/tmp\): give another file, then rerun$/m);
  assert.equal(readFileSync(join(sticky, 'w.csv'), 'utf8'), 'kept\n');
});

test("--out /dev/stdout into another user's pipe, more than the pipe holds, to a reader that starts late: all of it, exit 0", { skip: !asNobody && 'needs root, setpriv (util-linux) and a checkout user nobody may read, to run as another user' }, async () => {
  const root = scratchDir('out-files-big');
  await writeDataRoot(root, Array.from({ length: 1500 }, (_, i) => ({ part: 0, name: `video-with-a-long-name-${i}.mp4`, label: 'REAL', source: 'empty' })));
  for (const path of [root, join(root, 'dfdc_train_part_0')]) chmodSync(path, 0o755);
  const direct = spawnSync(process.execPath, [cliPath, 'index', '--root-dir', root], { env: cliEnvironment(), encoding: 'utf8' });
  assert.ok(direct.stdout.length > 100_000, `${direct.stdout.length} bytes: not more than a pipe holds`);
  const piped = spawnSync('sh', ['-c', `setpriv --reuid=nobody --regid=nogroup --clear-groups '${process.execPath}' '${cliPath}' index --root-dir '${root}' --out /dev/stdout | (sleep 1; wc -c)`], { env: cliEnvironment(), encoding: 'utf8' });
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(Number(piped.stdout.trim()), Buffer.byteLength(direct.stdout), piped.stderr);
});

test('--out through a link to /dev/stdout appends to what the shell opened (>>), and the same file as the standard output cannot take --json\'s report too', () => {
  const dir = scratchDir('out-files-stdout-link');
  symlinkSync('/dev/stdout', join(dir, 'so'));
  writeFileSync(join(dir, 'log.txt'), 'precious\n');
  const appended = spawnSync('sh', ['-c', `'${process.execPath}' '${cliPath}' index --root-dir '${sampleRoot}' --out '${join(dir, 'so')}' >> '${join(dir, 'log.txt')}'`], { env: cliEnvironment(), encoding: 'utf8' });
  assert.equal(appended.status, 0, appended.stderr);
  assert.match(readFileSync(join(dir, 'log.txt'), 'utf8'), /^precious\nid,path,label,original,split,group\n/);
  assert.ok(lstatSync(join(dir, 'so')).isSymbolicLink());
});

test("--out /dev/fd/N naming one of dfdc's own descriptors (not one the shell opened) is refused, not written into", { skip: !existsSync('/proc/self/fd') && 'no /proc here' }, () => {
  // Node's own descriptors (epoll, eventfd) in a fresh process, as the child's will be: a CI runner
  // may pass descriptors of its own down, which come first.
  const listing = spawnSync(process.execPath, ['-e', "const fs = require('fs'); for (const f of fs.readdirSync('/proc/self/fd')) { try { if (fs.readlinkSync('/proc/self/fd/' + f).startsWith('anon_inode:')) console.log(f); } catch {} }"], { encoding: 'utf8' });
  const internal = listing.stdout.trim().split('\n').filter((line) => line !== '').map(Number).slice(0, 3);
  assert.ok(internal.length > 0, `no epoll or eventfd among a fresh node's descriptors: ${listing.stdout}${listing.stderr}`);
  for (const fd of internal) {
    const result = runCli(['index', '--root-dir', sampleRoot, '--out', `/dev/fd/${fd}`]);
    assert.equal(result.status, 2, `${fd}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`^dfdc: --out /dev/fd/${fd} names descriptor ${fd}, which is none the shell opened for dfdc: give a file`, 'm'));
  }
  const closed = runCli(['index', '--root-dir', sampleRoot, '--out', '/dev/fd/99']);
  assert.equal(closed.status, 2, closed.stderr);
  assert.match(closed.stderr, /^dfdc: --out \/dev\/fd\/99 names descriptor 99, which is not open: open it for dfdc \(e\.g\. 99>file\), or give a file$/m);
  // One the shell did open is written into: a file, and a copy of a pipe's write end (3>&1).
  const dir = scratchDir('out-files-fd');
  const given = spawnSync('sh', ['-c', `'${process.execPath}' '${cliPath}' index --root-dir '${sampleRoot}' --out /dev/fd/7 7> '${join(dir, 'seven.csv')}'`], { env: cliEnvironment(), encoding: 'utf8' });
  assert.equal(given.status, 0, given.stderr);
  assert.match(readFileSync(join(dir, 'seven.csv'), 'utf8'), /^id,path/);
  const copied = spawnSync('sh', ['-c', `'${process.execPath}' '${cliPath}' index --root-dir '${sampleRoot}' --out /dev/fd/3 3>&1 | cat`], { env: cliEnvironment(), encoding: 'utf8' });
  assert.equal(copied.status, 0, copied.stderr);
  assert.match(copied.stdout, /^id,path/);
});

test('--out /dev/stdout written through the standard output (a socket here) to a reader that stopped reading: SIGTERM still ends dfdc index and dfdc folds at once', { timeout: 120_000 }, async () => {
  // 3,000 REAL/FAKE pairs with a crop each: index and folds each write far more than a socket holds.
  const root = scratchDir('out-files-stalled');
  const pairs = Array.from({ length: 3000 }, (_, i) => `pair-with-a-long-name-${i}`);
  await writeDataRoot(
    root,
    pairs.flatMap((name) => [
      { part: 0, name: `${name}.mp4`, label: 'REAL', source: 'empty' },
      { part: 0, name: `${name}-fake.mp4`, label: 'FAKE', original: `${name}.mp4`, source: 'empty' },
    ]),
  );
  for (const name of pairs.flatMap((pair) => [pair, `${pair}-fake`])) {
    mkdirSync(join(root, 'crops', name), { recursive: true });
    writeFileSync(join(root, 'crops', name, '0_0.png'), '');
  }
  for (const command of [['index', '--root-dir', root, '--out', '/dev/stdout'], ['folds', '--root-dir', root, '--out', '/dev/stdout']]) {
    // stdout is a pipe (a socket, in Node) that this test never reads: it fills, and dfdc waits on it.
    const child = spawn(process.execPath, [cliPath, ...command], { env: cliEnvironment(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pause();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    child.kill('SIGTERM');
    const hard = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const { code, signal } = await exited;
    clearTimeout(hard);
    assert.ok(signal === 'SIGTERM' || code === 143, `${command[0]}: ended by ${signal ?? code} (SIGKILL: it did not stop on SIGTERM): ${stderr}`);
    child.stdout.destroy();
  }
});

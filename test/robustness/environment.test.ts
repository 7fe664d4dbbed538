import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, copyFileSync, mkdirSync, openSync, readFileSync, rmSync, statfsSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { packageRoot } from '../../src/util/package-root.js';
import { locateFfmpeg, locateFfprobe } from '../../src/video/ffmpeg-binaries.js';
import { cliEnvironment, cliPath, runCli, scratchDir } from '../helpers/cli.js';
import { copySampleRoot } from '../helpers/data-root.js';
import { leftTemporaries, listFiles } from '../helpers/compare-images.js';

/**
 * The machine, not a video, stops the run: a full disk, a read-only output folder, or one this user
 * may not write. In every unit stage (main-thread and worker-thread writers, node:fs and sharp), each
 * must stop the run once with exit 3 and one line `dfdc: ...` naming the output folder and the fix,
 * leave no temporary file, and a rerun after the fix must complete the stage's outputs exactly.
 *
 * The conditions are real: a small tmpfs filled to the last page, a read-only bind mount, and the CLI
 * run as user nobody (setpriv) on a folder owned by root (root ignores permission bits, so a plain
 * chmod proves nothing when tests run as root). Each needs root; without it the cases are skipped
 * with the reason.
 */

const cli = cliPath;
const RUN_TIMEOUT_MS = 60_000;
const asNobody = ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];

// Module state used while the tests are declared (the probe) and by every hook.
/** Mount points made by this file, undone in `finally` and in `after`. */
const mounts: string[] = [];
let probed: Probe | undefined;
let nobodyIds: { uid: number; gid: number } | undefined;

// --- the stages and the conditions under test -------------------------------------------------

interface Stage {
  readonly name: 'detect' | 'crops' | 'landmarks' | 'diffs';
  /** The folder of OUT it writes. */
  readonly folder: string;
  /** Who writes there, for the test's title. */
  readonly writer: string;
  /** `dfdc run` detects every 10th frame only: detect alone does the same, so that its boxes equal the reference's. */
  readonly args: readonly string[];
}

const stages: readonly Stage[] = [
  { name: 'detect', folder: 'boxes', writer: 'main thread, node:fs', args: ['--every', '10'] },
  { name: 'crops', folder: 'crops', writer: 'main thread, sharp', args: [] },
  { name: 'landmarks', folder: 'landmarks', writer: 'worker threads, node:fs', args: [] },
  { name: 'diffs', folder: 'diffs', writer: 'worker threads, sharp', args: [] },
];

/** One case in the making: the output folder OUT, and the stage's folder in it. */
interface Case {
  readonly stage: Stage;
  readonly out: string;
  readonly folder: string;
}

interface Condition {
  readonly name: string;
  readonly code: 'ENOSPC' | 'EROFS' | 'EACCES';
  /** Why the case cannot run on this machine, if it cannot. */
  readonly skip: () => string | undefined;
  /** Whether the CLI runs as user nobody. */
  readonly asNobody: boolean;
  /** Makes the condition on the (absent) stage folder. */
  setUp(c: Case): void;
  /** What a user would do after reading the message. */
  fix(c: Case): void;
}

const conditions: readonly Condition[] = [
  {
    name: 'disk full',
    code: 'ENOSPC',
    skip: () => probe().tmpfs,
    asNobody: false,
    setUp({ stage, folder }) {
      mkdirSync(folder);
      mountTmpfs(folder, tmpfsSizeFor(stage));
      fillUp(join(folder, 'filler'));
    },
    fix: ({ folder }) => rmSync(join(folder, 'filler')),
  },
  {
    name: 'read-only',
    code: 'EROFS',
    skip: () => probe().readOnly,
    asNobody: false,
    setUp({ folder }) {
      mkdirSync(folder);
      bindReadOnly(folder);
    },
    fix: ({ folder }) => unmount(folder),
  },
  {
    name: 'not permitted',
    code: 'EACCES',
    skip: () => probe().nobody,
    asNobody: true,
    setUp({ out, folder }) {
      // OUT belongs to nobody, but the stage's folder to root, mode 0755: nobody may read it, not write in it.
      chownTree(out, ids().uid, ids().gid);
      mkdirSync(folder);
      chownSync(folder, 0, 0);
      chmodSync(folder, 0o755);
    },
    fix: ({ folder }) => chownSync(folder, ids().uid, ids().gid),
  },
];

// --- the message expected --------------------------------------------------------------------

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The one line: the folder written in (the stage's folder, or a unit's folder inside it), the code and the fix. */
function expectedLine(code: Condition['code'], folder: string): RegExp {
  const where = `${escapeRegExp(folder)}(?:/[^ ]+)?`;
  if (code === 'ENOSPC') return new RegExp(`^dfdc: no space left to write in ${where} \\(ENOSPC\\): free some space .*then rerun`);
  // A read-only mount is not made writable by chmod: the fix is another output folder.
  if (code === 'EROFS') return new RegExp(`^dfdc: cannot write in ${where} \\(EROFS: read-only file system\\): give --output-dir a folder on a writable disk .*then rerun`);
  return new RegExp(`^dfdc: cannot write in ${where} \\(${code}: permission denied\\): make it writable .*then rerun`);
}

// --- the set-up: scratch folders, the data root, the reference --------------------------------

let scratch = '';
let root = '';
let reference = '';
/** Extra environment for runs as nobody (HOME, and ffmpeg/ffprobe it can execute). */
let nobodyEnv: NodeJS.ProcessEnv = {};

after(() => {
  unmountAll();
});

const anyCaseRuns = conditions.some((condition) => condition.skip() === undefined);

before(async () => {
  if (!anyCaseRuns) return;
  scratch = scratchDir('environment');
  chmodSync(scratch, 0o755); // nobody must reach the data root and OUT in here
  root = await copySampleRoot(mkdirReturning(join(scratch, 'root')));
  spawnChecked('chmod', ['-R', 'a+rX', root]);
  reference = join(scratch, 'reference');
  const made = runCli(['run', '--root-dir', root, '--output-dir', reference, '--n-splits', '2', '--total-parts', '2', '--quiet']);
  assert.equal(made.status, 0, `the reference run failed: ${made.stderr}`);
  for (const stage of stages) assert.ok(listFiles(join(reference, stage.folder)).length > 0, `the reference has no ${stage.folder}`);
  if (probe().nobody === undefined) nobodyEnv = await environmentForNobody();
});

function mkdirReturning(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** OUT with every stage before `stage` complete: the reference without `stage`'s outputs and completion records. */
function outputBefore(stage: Stage, name: string): Case {
  const out = join(scratch, name);
  // cp -a keeps modification times to the nanosecond; completion records compare them at full precision
  // (fs.cpSync's preserveTimestamps keeps whole milliseconds only, and the earlier stages' records would not hold).
  spawnChecked('cp', ['-a', reference, out]);
  const folder = join(out, stage.folder);
  rmSync(folder, { recursive: true, force: true });
  rmSync(join(out, '.run-state', 'units', stage.name), { recursive: true, force: true });
  return { stage, out, folder };
}

// --- the tests ---------------------------------------------------------------------------------

for (const stage of stages) {
  for (const condition of conditions) {
    const title = `${stage.name} (${stage.writer}) on ${condition.name} OUT/${stage.folder}: exit 3, one line naming it (${condition.code}); the rerun after the fix completes`;
    const skip = condition.skip();
    test(title, skip ? { skip } : {}, (t) => {
      const c = outputBefore(stage, `${stage.name}-${condition.code.toLowerCase()}`);
      // --quiet: no progress lines, so that stderr holds only what the run has to say about the failure.
      const args = [stage.name, '--root-dir', root, '--output-dir', c.out, ...stage.args, '--quiet'];
      const run = () => dfdc(args, { asNobody: condition.asNobody });
      // Every finding is collected, so that one failing check does not hide the rest (or the rerun's outcome).
      const problems: string[] = [];
      try {
        condition.setUp(c);

        const failed = run();
        t.diagnostic(`first run: exit ${failed.status}, stderr: ${JSON.stringify(failed.stderr)}`);
        const shown = `exit ${failed.status}, stderr: ${JSON.stringify(failed.stderr)}`;
        if (failed.status !== 3) problems.push(`expected exit 3, got ${shown}`);
        const lines = failed.stderr.split(/\r?\n/).filter((line) => line.trim() !== '');
        if (lines.length !== 1) problems.push(`expected exactly one line on stderr, got ${lines.length}: ${shown}`);
        else if (!expectedLine(condition.code, c.folder).test(lines[0]!)) {
          problems.push(`the line does not match ${expectedLine(condition.code, c.folder)}: ${shown}`);
        }
        if (/^\s+at .+:\d+:\d+\)?$/m.test(failed.stderr)) problems.push(`stderr holds a stack trace: ${shown}`);
        const temporaries = leftTemporaries(c.out);
        if (temporaries.length > 0) problems.push(`temporary files left behind: ${temporaries.join(', ')}`);

        condition.fix(c);

        const rerun = run();
        t.diagnostic(`rerun after the fix: exit ${rerun.status}, stderr: ${JSON.stringify(rerun.stderr)}`);
        if (rerun.status !== 0) problems.push(`the rerun after the fix: expected exit 0, got exit ${rerun.status}, stderr: ${JSON.stringify(rerun.stderr)}`);
        else problems.push(...differences(join(reference, stage.folder), c.folder));
      } finally {
        unmountAll();
      }
      assert.deepEqual(problems, [], `${stage.name} on ${condition.name} ${c.folder}`);
    });
  }
}

/** How the files of `actual` differ from those of `expected` (names and bytes). */
function differences(expected: string, actual: string): string[] {
  const want = listFiles(expected, { hidden: true });
  const got = listFiles(actual, { hidden: true });
  const out: string[] = [];
  const missing = want.filter((file) => !got.includes(file));
  const extra = got.filter((file) => !want.includes(file));
  if (missing.length > 0) out.push(`after the rerun, missing from ${actual}: ${missing.join(', ')}`);
  if (extra.length > 0) out.push(`after the rerun, not in the reference: ${extra.join(', ')}`);
  const changed = want.filter((file) => got.includes(file) && !readFileSync(join(expected, file)).equals(readFileSync(join(actual, file))));
  if (changed.length > 0) out.push(`after the rerun, differ from the reference: ${changed.join(', ')}`);
  return out;
}

// --- running the CLI (as root, or as nobody) ---------------------------------------------------

/** Runs the built CLI like runCli (test/helpers/cli.ts), as nobody if asked, and stops it if it hangs. */
function dfdc(args: readonly string[], options: { asNobody: boolean }): { status: number | string; stdout: string; stderr: string } {
  const command = [process.execPath, cli, ...args];
  const env = cliEnvironment(options.asNobody ? nobodyEnv : {});
  const result = spawnSync(options.asNobody ? 'setpriv' : command[0]!, options.asNobody ? [...asNobody, ...command] : command.slice(1), {
    cwd: packageRoot,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: RUN_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    maxBuffer: 64 * 1024 * 1024,
  });
  const status = result.status ?? (result.signal ? `killed by ${result.signal} (hung for ${RUN_TIMEOUT_MS / 1000} s?)` : String(result.error));
  return { status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/**
 * A HOME nobody can write, and ffmpeg/ffprobe it can execute. The npm ffprobe's postinstall makes it
 * `chmod u+x` only (owner root): when nobody cannot run a binary dfdc finds, a world-executable copy
 * is given through FFMPEG_PATH/FFPROBE_PATH (same build, so the same outputs), since what is tested
 * here is the output folder, not the install.
 */
async function environmentForNobody(): Promise<NodeJS.ProcessEnv> {
  const home = mkdirReturning(join(scratch, 'home-nobody'));
  chownSync(home, ids().uid, ids().gid);
  const env: NodeJS.ProcessEnv = { HOME: home };
  const { ffmpegPath } = await locateFfmpeg();
  const ffprobePath = await locateFfprobe();
  for (const [name, path, variable] of [
    ['ffmpeg', ffmpegPath, 'FFMPEG_PATH'],
    ['ffprobe', ffprobePath, 'FFPROBE_PATH'],
  ] as const) {
    // `test -x` as nobody, not `setpriv ... <binary>`: setpriv execs while it still holds root's capabilities.
    if (spawnSync('setpriv', [...asNobody, 'test', '-x', path], { stdio: 'ignore' }).status === 0) continue;
    const copy = join(mkdirReturning(join(scratch, 'bin')), name);
    copyFileSync(path, copy);
    chmodSync(copy, 0o755);
    env[variable] = copy;
  }
  return env;
}

function ids(): { uid: number; gid: number } {
  nobodyIds ??= {
    uid: Number(spawnChecked('id', ['-u', 'nobody']).trim()),
    gid: Number(spawnChecked('getent', ['group', 'nogroup']).split(':')[2]),
  };
  return nobodyIds;
}

function chownTree(path: string, uid: number, gid: number): void {
  spawnChecked('chown', ['-R', `${uid}:${gid}`, path]);
}

/** Runs a system tool (mount, chown, cp, ...) and returns its stdout; throws with its stderr when it fails. */
function spawnChecked(program: string, args: readonly string[]): string {
  const result = spawnSync(program, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${program} ${args.join(' ')} failed (${result.status}): ${result.stderr.trim()}`);
  return result.stdout;
}

// --- mounts: every one is undone, whatever happens ----------------------------------------------

function mountTmpfs(dir: string, bytes: number): void {
  spawnChecked('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'dfdc-test-full', dir]);
  mounts.push(dir);
}

function bindReadOnly(dir: string): void {
  spawnChecked('mount', ['--bind', dir, dir]);
  mounts.push(dir);
  spawnChecked('mount', ['-o', 'remount,bind,ro', dir]);
}

/** Unmounts `dir` (lazily if it is busy). */
function unmount(dir: string): void {
  const index = mounts.lastIndexOf(dir);
  if (index < 0) return;
  if (spawnSync('umount', [dir], { stdio: 'ignore' }).status !== 0) spawnChecked('umount', ['-l', dir]);
  mounts.splice(index, 1);
}

function unmountAll(): void {
  const failures: string[] = [];
  for (const dir of [...mounts].reverse()) {
    try {
      unmount(dir);
    } catch (error) {
      failures.push(String(error));
    }
  }
  if (failures.length > 0) throw new Error(`could not unmount: ${failures.join('; ')}`);
}

/** Room for the whole of a stage's reference outputs (each file rounded up to pages), with a margin. */
function tmpfsSizeFor(stage: Stage): number {
  const folder = join(reference, stage.folder);
  const bytes = listFiles(folder, { hidden: true }).reduce((sum, file) => sum + Math.ceil(readFileSync(join(folder, file)).length / 4096) * 4096, 0);
  return 256 * 1024 + 2 * bytes;
}

/** Writes `path` until the file system has not one block left. */
function fillUp(path: string): void {
  const fd = openSync(path, 'w');
  try {
    for (const size of [1 << 16, 4096, 1]) {
      const chunk = Buffer.alloc(size, 0x55);
      try {
        for (;;) if (writeSync(fd, chunk) < size) break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
  const left = statfsSync(path).bavail;
  assert.equal(left, 0, `the filler left ${left} blocks free in ${path}`);
}

// --- what this machine permits ----------------------------------------------------------------

interface Probe {
  /** Why each kind of case cannot run here; undefined when it can. */
  tmpfs: string | undefined;
  readOnly: string | undefined;
  nobody: string | undefined;
}

/**
 * Tries each set-up once, on a throw-away folder. (These need root and a machine that lets root
 * mount, as CI's does; elsewhere, or in a container without the capability, the cases are skipped.)
 */
function probe(): Probe {
  if (probed) return probed;
  const uid = process.getuid?.();
  if (uid !== 0) {
    const as = uid === undefined ? 'on this platform' : `running as uid ${uid}`;
    probed = {
      tmpfs: `needs root to mount a small tmpfs as a full disk (${as})`,
      readOnly: `needs root to make a read-only bind mount (${as})`,
      nobody: `needs root to run the CLI as user nobody with setpriv on a folder owned by root (${as})`,
    };
    return probed;
  }
  const dir = scratchDir('environment-probe');
  const tryIt = (what: string, steps: () => void): string | undefined => {
    try {
      steps();
      return undefined;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return `${what} is not permitted here: ${message.split('\n')[0]}`;
    } finally {
      try {
        unmountAll();
      } catch {
        // reported by the after hook if it persists
      }
    }
  };
  try {
    const tmpfs = tryIt('mount -t tmpfs', () => {
      mkdirSync(join(dir, 'tmpfs'));
      mountTmpfs(join(dir, 'tmpfs'), 64 * 1024);
      fillUp(join(dir, 'tmpfs', 'filler'));
    });
    const readOnly = tryIt('a read-only bind mount', () => {
      mkdirSync(join(dir, 'ro'));
      bindReadOnly(join(dir, 'ro'));
      let code: string | undefined;
      try {
        writeFileSync(join(dir, 'ro', 'x'), '');
      } catch (error) {
        code = (error as NodeJS.ErrnoException).code;
      }
      if (code !== 'EROFS') throw new Error(`writing in it gave ${code ?? 'no error'}, not EROFS`);
    });
    const nobody = tryIt('setpriv --reuid=nobody --regid=nogroup --clear-groups', () => {
      spawnChecked('setpriv', [...asNobody, 'true']);
      ids();
      // nobody must be able to read the built CLI (and so the package) where it lives
      spawnChecked('setpriv', [...asNobody, 'test', '-r', cli]);
    });
    probed = { tmpfs, readOnly, nobody };
  } finally {
    // (a mount that would not go is still listed, and the after hook tries again)
    if (mounts.length === 0) rmSync(dir, { recursive: true, force: true });
  }
  return probed;
}

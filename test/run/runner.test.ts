import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import type { DatasetDirs } from '../../src/dataset/dirs.js';
import { recordProvenance } from '../../src/run/provenance.js';
import { runStages } from '../../src/run/runner.js';
import type { ReportFile } from '../../src/run/report.js';
import type { UnitStage } from '../../src/run/stage.js';
import { writeFileAtomic } from '../../src/util/atomic-write.js';
import { FatalError, UnitError } from '../../src/util/errors.js';
import { option } from '../../src/util/options.js';
import { scratchDir } from '../helpers/cli.js';

/**
 * The one runner, driving small stages defined here over a data set of four REAL videos (a, b, c,
 * d): failures stay with their unit, a fatal error stops the stage once, a unit whose input an
 * earlier stage has not made waits, a stage run before its upstream marks nothing, and settings
 * that changed stop the run unless --force.
 */

function dataRoot(name: string): DatasetDirs {
  const base = scratchDir(`runner-${name}`);
  const part = join(base, 'root', 'dfdc_train_part_0');
  mkdirSync(part, { recursive: true });
  const records = Object.fromEntries(['a', 'b', 'c', 'd'].map((id) => [`${id}.mp4`, { label: 'REAL' }]));
  writeFileSync(join(part, 'metadata.json'), JSON.stringify(records));
  for (const id of ['a', 'b', 'c', 'd']) writeFileSync(join(part, `${id}.mp4`), `video ${id}`);
  return { rootDir: join(base, 'root'), outputDir: join(base, 'out'), cropsDir: join(base, 'out', 'crops') };
}

const settings = z.object({ suffix: option(z.string().default('1'), { help: 'what to write', hint: 'the other command writes suffix 2' }) });

interface Behaviour {
  fail?: (id: string) => Error | undefined;
  worked?: string[];
}

/** `first`: writes first/<id>.txt from the video. */
function firstStage(behaviour: Behaviour = {}): UnitStage<typeof settings, { id: string; subject: string; path: string }, undefined> {
  return {
    kind: 'units',
    name: 'first',
    description: 'test stage',
    settings,
    unitNoun: 'video',
    workersHelp: 'units at once',
    readsCrops: false,
    units: (run) => run.selection.reals.map((video) => ({ id: video.id, subject: `part/${video.name}`, path: video.path })),
    reads: (unit) => [{ role: 'video', kind: 'file', path: unit.path }],
    writes: (unit, run) => [{ role: 'text', kind: 'file', path: join(run.paths.outputDir, 'first', `${unit.id}.txt`) }],
    concurrency: () => 1,
    work: async (unit, job) => {
      behaviour.worked?.push(unit.id);
      const error = behaviour.fail?.(unit.id);
      if (error) throw error;
      await writeFileAtomic(job.output('text'), `${readFileSync(unit.path, 'utf8')} ${job.settings.suffix}`);
      return { frames: 1 };
    },
  };
}

/** `second`: reads first/<id>.txt (made by `first`), writes second/<id>/out.txt. */
function secondStage(worked: string[] = []): UnitStage<typeof settings, { id: string; subject: string }, undefined> {
  return {
    kind: 'units',
    name: 'second',
    description: 'test stage',
    settings,
    unitNoun: 'video',
    workersHelp: 'units at once',
    readsCrops: false,
    units: (run) => run.selection.reals.map((video) => ({ id: video.id, subject: `part/${video.name}` })),
    reads: (unit, run) => [{ role: 'text', kind: 'file', path: join(run.paths.outputDir, 'first', `${unit.id}.txt`), from: { stage: 'first', unit: unit.id } }],
    writes: (unit, run) => [{ role: 'copy', kind: 'folder', path: join(run.paths.outputDir, 'second', unit.id) }],
    concurrency: () => 2,
    work: async (unit, job) => {
      worked.push(unit.id);
      const text = readFileSync(join(job.run.paths.outputDir, 'first', `${unit.id}.txt`), 'utf8');
      await writeFileAtomic(join(job.output('copy'), 'out.txt'), text);
      return {};
    },
  };
}

const quiet = { quiet: true };
const report = (dirs: DatasetDirs) => JSON.parse(readFileSync(join(dirs.outputDir, 'run-report.json'), 'utf8')) as ReportFile;

test('a unit that fails is reported with its reason and leaves nothing; the others are done; a rerun retries only it', async () => {
  const dirs = dataRoot('failure');
  const worked: string[] = [];
  const failing = firstStage({ worked, fail: (id) => (id === 'b' ? new UnitError('/x/root/part/b.mp4: not a video', { file: '/x/root/part/b.mp4' }) : undefined) });
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: failing, settings: { suffix: '1' } }] }), 1);
  assert.deepEqual(worked, ['a', 'b', 'c', 'd']);
  assert.deepEqual(readdirSync(join(dirs.outputDir, 'first')).sort(), ['a.txt', 'c.txt', 'd.txt']);
  assert.deepEqual(report(dirs).stages.first?.failures, [{ subject: 'part/b.mp4', reason: 'not a video' }]);
  const again: string[] = [];
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: firstStage({ worked: again }), settings: { suffix: '1' } }] }), 0);
  assert.deepEqual(again, ['b']);
  assert.equal(report(dirs).stages.first?.skipped, 3);
});

test('a fatal error stops the stage at once: one error, no unit reported failed, the report says why', async () => {
  for (const error of [
    new FatalError('no space left to write in /out/first (ENOSPC): free some space'),
    Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }),
    Object.assign(new Error('EROFS: read-only file system, open'), { code: 'EROFS' }),
  ]) {
    const dirs = dataRoot('fatal');
    const worked: string[] = [];
    await assert.rejects(
      runStages({ dirs, options: quiet, stages: [{ stage: firstStage({ worked, fail: () => error }), settings: { suffix: '1' } }] }),
      (thrown: unknown) => thrown instanceof FatalError && /ENOSPC|EROFS/.test(thrown.message),
    );
    assert.deepEqual(worked, ['a'], `${error.message}: more than one unit ran`);
    const written = report(dirs);
    assert.equal(written.stages.first?.failed, 0);
    assert.match(written.stopped ?? '', /ENOSPC|EROFS/);
  }
});

test('a stage run before the one that makes its inputs says which to run first, marks nothing and exits 1', async () => {
  const dirs = dataRoot('order');
  const worked: string[] = [];
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: secondStage(worked), settings: { suffix: '1' } }] }), 1);
  assert.deepEqual(worked, []);
  assert.equal(existsSync(join(dirs.outputDir, '.run-state', 'units', 'second')), false, 'nothing marked');
  assert.equal(report(dirs).stages.second?.waiting, 4);
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: firstStage(), settings: { suffix: '1' } }, { stage: secondStage(worked), settings: { suffix: '1' } }] }), 0);
  assert.deepEqual(worked.sort(), ['a', 'b', 'c', 'd']);
});

test("units whose upstream failed wait, and are done once it succeeds; redone upstream units redo theirs", async () => {
  const dirs = dataRoot('upstream');
  const worked: string[] = [];
  const failB = firstStage({ fail: (id) => (id === 'b' ? new UnitError('broken') : undefined) });
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: failB, settings: { suffix: '1' } }, { stage: secondStage(worked), settings: { suffix: '1' } }] }), 1);
  assert.deepEqual(worked.sort(), ['a', 'c', 'd']);
  assert.equal(report(dirs).stages.second?.waiting, 1);
  // b's video is fixed: first redoes b, second follows.
  worked.length = 0;
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: firstStage(), settings: { suffix: '1' } }, { stage: secondStage(worked), settings: { suffix: '1' } }] }), 0);
  assert.deepEqual(worked, ['b']);
  // c's video is downloaded again: first and second redo c, and only c.
  writeFileSync(join(dirs.rootDir, 'dfdc_train_part_0', 'c.mp4'), 'video c, downloaded again');
  worked.length = 0;
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: firstStage(), settings: { suffix: '1' } }, { stage: secondStage(worked), settings: { suffix: '1' } }] }), 0);
  assert.deepEqual(worked, ['c']);
  assert.equal(readFileSync(join(dirs.outputDir, 'second', 'c', 'out.txt'), 'utf8'), 'video c, downloaded again 1');
});

test('other settings stop the run unless --force, which redoes every unit with them', async () => {
  const dirs = dataRoot('settings');
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: firstStage(), settings: { suffix: '1' } }] }), 0);
  await assert.rejects(
    runStages({ dirs, options: quiet, stages: [{ stage: firstStage(), settings: { suffix: '2' } }] }),
    (error: unknown) => error instanceof FatalError && /made with other settings \(suffix: "1" -> "2"\).*--force/.test(error.message),
  );
  const worked: string[] = [];
  assert.equal(await runStages({ dirs, options: { ...quiet, force: true }, stages: [{ stage: firstStage({ worked }), settings: { suffix: '2' } }] }), 0);
  assert.deepEqual(worked, ['a', 'b', 'c', 'd']);
  assert.equal(readFileSync(join(dirs.outputDir, 'first', 'a.txt'), 'utf8'), 'video a 2');
});

test("a record a killed run was writing (its temporary beside no record) is redone, and the temporary goes with it", async () => {
  const dirs = dataRoot('killed-record');
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: firstStage(), settings: { suffix: '1' } }] }), 0);
  // kill -9 between the record's temporary and its rename: the output is there, its record is not.
  const records = join(dirs.outputDir, '.run-state', 'units', 'first');
  const record = join(records, 'b.json');
  const left = join(records, '.b.json.99999.7.tmp');
  writeFileSync(left, readFileSync(record).subarray(0, 20));
  rmSync(record);
  const worked: string[] = [];
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: firstStage({ worked }), settings: { suffix: '1' } }] }), 0);
  assert.deepEqual(worked, ['b']);
  assert.ok(existsSync(record));
  assert.deepEqual(readdirSync(records).filter((name) => name.endsWith('.tmp')), [], 'the killed writer\'s temporary is still there');
});

test('the write probes of runs killed while starting are removed: this host\'s dead processes\', not a live one\'s', async () => {
  const dirs = dataRoot('probes');
  const state = join(dirs.outputDir, '.run-state');
  mkdirSync(state, { recursive: true });
  const dead = 2 ** 22 + 12345; // above Linux's pid_max: no such process
  const left = [`write-check.${hostname()}.${dead}`, `.write-check.${hostname()}.${dead}.${dead}.3.tmp`];
  const live = `write-check.${hostname()}.${process.ppid}`;
  for (const name of [...left, live]) writeFileSync(join(state, name), '');
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: firstStage(), settings: { suffix: '1' } }] }), 0);
  assert.deepEqual(readdirSync(state).filter((name) => name.includes('write-check')), [live]);
});

test('two runs with other settings on one output: the one that records its settings second stops, and its units are redone by the first\'s settings', async () => {
  // The other process is played by the stage itself: while this run makes a unit, "another run"
  // records suffix 2 for the same output.
  const otherRecords = (dirs: DatasetDirs, when: string) => {
    const stage = firstStage();
    const work = stage.work;
    stage.work = async (unit, job) => {
      if (unit.id === when) await recordProvenance(join(dirs.outputDir, '.run-state'), dirs.outputDir, stage, { suffix: '2' }, {}, { first: true });
      return work(unit, job);
    };
    return stage;
  };
  // Both started on an empty output: the other recorded first, so this run stops at its first unit.
  const fresh = dataRoot('race-first');
  await assert.rejects(
    runStages({ dirs: fresh, options: quiet, stages: [{ stage: otherRecords(fresh, 'a'), settings: { suffix: '1' } }] }),
    (error: unknown) => error instanceof FatalError && /another process recorded other settings .*\(suffix: "2" -> "1"\) \(the other command writes suffix 2\): /.test(error.message),
  );
  assert.match(readFileSync(join(fresh.outputDir, '.run-state', 'provenance', 'first.json'), 'utf8'), /"suffix": "2"/);
  const redone: string[] = [];
  assert.equal(await runStages({ dirs: fresh, options: quiet, stages: [{ stage: firstStage({ worked: redone }), settings: { suffix: '2' } }] }), 0);
  assert.deepEqual(redone.sort(), ['a', 'b', 'c', 'd']);
  assert.equal(readFileSync(join(fresh.outputDir, 'first', 'a.txt'), 'utf8'), 'video a 2');

  // The other recorded while this run checked which units were complete (seconds at DFDC's size): met at the first unit too.
  const checking = dataRoot('race-checks');
  const slow = firstStage();
  const units = slow.units;
  const redoneToo: string[] = [];
  slow.units = (run) => {
    mkdirSync(join(checking.outputDir, '.run-state', 'provenance'), { recursive: true });
    writeFileSync(join(checking.outputDir, '.run-state', 'provenance', 'first.json'), JSON.stringify({ settings: { suffix: '2' }, madeWith: {} }));
    return units(run);
  };
  slow.work = async (unit, job) => {
    redoneToo.push(unit.id);
    return firstStage().work(unit, job);
  };
  await assert.rejects(
    runStages({ dirs: checking, options: quiet, stages: [{ stage: slow, settings: { suffix: '1' } }] }),
    (error: unknown) => error instanceof FatalError && /another process recorded other settings/.test(error.message),
  );
  assert.ok(redoneToo.length <= 1, `went on after its first unit: ${redoneToo.join(', ')}`);

  // This run had checked the record (suffix 1); another with suffix 2 and --force replaced it meanwhile: not replaced back.
  const resumed = dataRoot('race-end');
  assert.equal(await runStages({ dirs: resumed, options: quiet, stages: [{ stage: firstStage(), settings: { suffix: '1' } }] }), 0);
  rmSync(join(resumed.outputDir, 'first', 'c.txt'));
  const stage = firstStage();
  const work = stage.work;
  stage.work = async (unit, job) => {
    await recordProvenance(join(resumed.outputDir, '.run-state'), resumed.outputDir, stage, { suffix: '2' }, {}, { force: true });
    return work(unit, job);
  };
  await assert.rejects(
    runStages({ dirs: resumed, options: quiet, stages: [{ stage, settings: { suffix: '1' } }] }),
    (error: unknown) => error instanceof FatalError && /another process recorded other settings/.test(error.message),
  );
  assert.match(readFileSync(join(resumed.outputDir, '.run-state', 'provenance', 'first.json'), 'utf8'), /"suffix": "2"/);
});

test('a unit whose files are deleted while it runs fails instead of being recorded complete with a short folder; a rerun makes it whole', async () => {
  const dirs = dataRoot('deleted-while-written');
  let sabotage = true;
  const stage = (): UnitStage<typeof settings, { id: string; subject: string }, undefined> => ({
    ...secondStage(),
    name: 'folders',
    reads: (unit) => [{ role: 'video', kind: 'file', path: join(dirs.rootDir, 'dfdc_train_part_0', `${unit.id}.mp4`) }],
    writes: (unit, run) => [{ role: 'files', kind: 'folder', path: join(run.paths.outputDir, 'folders', unit.id), fileCount: 'files' }],
    work: async (unit, job) => {
      const folder = job.output('files');
      for (const name of ['0.txt', '1.txt', '2.txt']) await writeFileAtomic(join(folder, name), name);
      // A cleaner that deletes in the output folder, or an `rm -r` of it, while the unit writes.
      if (sabotage && unit.id === 'b') rmSync(join(folder, '1.txt'));
      if (sabotage && unit.id === 'c') {
        rmSync(folder, { recursive: true });
        writeFileSync(join(folder, '3.txt'), 'lost');
      }
      return { details: { files: 3 } };
    },
  });
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: stage(), settings: { suffix: '1' } }] }), 1);
  const failures = report(dirs).stages.folders?.failures ?? [];
  assert.deepEqual(failures.map((failure) => failure.subject), ['part/b.mp4', 'part/c.mp4']);
  assert.match(failures[0]!.reason, /^1 of the 3 files it wrote was removed from .*folders\/\.b\..*\.tmp before it ended \(a cleaner, or another process in the output folder\?\): rerun$/);
  assert.match(failures[1]!.reason, /^the folder it was writing, .*folders\/\.c\..*\.tmp, was removed before it ended \(a cleaner, or another process deleting in the output folder\?\): rerun$/);
  assert.equal(existsSync(join(dirs.outputDir, 'folders', 'b')), false);
  sabotage = false;
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: stage(), settings: { suffix: '1' } }] }), 0);
  assert.equal(report(dirs).stages.folders?.done, 2);
  for (const id of ['a', 'b', 'c', 'd']) assert.deepEqual(readdirSync(join(dirs.outputDir, 'folders', id)), ['0.txt', '1.txt', '2.txt']);
});

test('a unit whose claim another process took over while this one was stopped waits, and a line says so', async () => {
  const dirs = dataRoot('taken-over');
  const stage: UnitStage<typeof settings, { id: string; subject: string; path: string }, undefined> = {
    ...firstStage(),
    work: async (unit, job) => {
      // As another node does when this process was stopped (SIGSTOP, a suspended VM) past the claim's lapse.
      if (unit.id === 'b') writeFileSync(join(job.run.paths.stateDir, 'claims', 'first', 'b.json'), JSON.stringify({ host: 'node-9', pid: 4242, token: 'theirs' }));
      await writeFileAtomic(job.output('text'), unit.id);
      return { frames: 1 };
    },
  };
  const lines: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    assert.equal(await runStages({ dirs, options: {}, stages: [{ stage, settings: { suffix: '1' } }] }), 1);
  } finally {
    process.stderr.write = write;
  }
  assert.deepEqual(report(dirs).stages.first?.waitingList, [{ subject: 'part/b.mp4', reason: 'taken over by another process while this one was stopped longer than a minute' }]);
  assert.match(lines.join(''), /^first: 1 video taken over by another process working on this output while this one was stopped for longer than a minute \(its claim lapsed\): what that process makes stands; rerun to check$/m);
});

test('a rerun with nothing to do writes no state: its provenance stays as it was (a disk that filled up since does not stop it)', async () => {
  const dirs = dataRoot('nothing-to-do');
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: firstStage(), settings: { suffix: '1' } }] }), 0);
  const provenance = join(dirs.outputDir, '.run-state', 'provenance', 'first.json');
  const before = readFileSync(provenance, 'utf8');
  // Whole seconds, which a file's time holds exactly (milliseconds come back as ...999 on some).
  const old = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  utimesSync(provenance, old, old);
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: firstStage(), settings: { suffix: '1' } }] }), 0);
  assert.equal(readFileSync(provenance, 'utf8'), before);
  assert.equal(statSync(provenance).mtimeMs, old.getTime());
});

test('--force replaces a provenance record that cannot be read; without it, the run stops with the fix', async () => {
  const dirs = dataRoot('corrupt-provenance');
  assert.equal(await runStages({ dirs, options: quiet, stages: [{ stage: firstStage(), settings: { suffix: '1' } }] }), 0);
  const provenance = join(dirs.outputDir, '.run-state', 'provenance', 'first.json');
  writeFileSync(provenance, '{garbage');
  await assert.rejects(runStages({ dirs, options: quiet, stages: [{ stage: firstStage(), settings: { suffix: '1' } }] }), /first\.json is not a provenance record/);
  assert.equal(await runStages({ dirs, options: { ...quiet, force: true }, stages: [{ stage: firstStage(), settings: { suffix: '1' } }] }), 0);
  assert.deepEqual((JSON.parse(readFileSync(provenance, 'utf8')) as { settings: unknown }).settings, { suffix: '1' });
});

import { Command, Option } from 'commander';
import { z, ZodError } from 'zod';
import { datasetDirsOptions, datasetDirsSchema, resolveDatasetDirs, type DatasetDirs } from '../dataset/dirs.js';
import type { DatasetOptions } from '../dataset/dataset.js';
import { datasetOptions, datasetOptionsSchema } from '../dataset/layouts/index.js';
import { backendOption, runOptions, workersOption, type RunOptions } from '../run/options.js';
import { runStages } from '../run/runner.js';
import type { Stage, StageRun } from '../run/stage.js';
import { pipelineStages } from '../stages/index.js';
import { flagOf, isBooleanFlag, optionHelp } from '../util/options.js';

/**
 * Turns option declarations (zod schemas carrying their help: src/util/options.ts) into commander
 * options, and commander's parsed values back into checked settings. A stage's settings are
 * declared once, in its stage module; their flags, help and defaults in `dfdc <stage> --help` and
 * `dfdc run --help` come from there, through here.
 */
type Shape = Readonly<Record<string, z.core.$ZodType>>;

/** `--landmark-thresholds` -> `landmarkThresholds` (commander's attribute name). */
export function keyOf(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** How a default reads in `--help`. */
function defaultText(schema: z.core.$ZodType): string | undefined {
  const help = optionHelp(schema);
  if (help?.defaultText !== undefined) return help.defaultText;
  const def = schema._zod.def as { type: string; defaultValue?: unknown };
  if (def.type !== 'default') return undefined;
  const value = def.defaultValue;
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** The commander option of one declared option, under `flag`. */
export function commanderOption(flag: string, schema: z.core.$ZodType): Option {
  const help = optionHelp(schema);
  if (!help) throw new Error(`option ${flag} has no help: declare it with option()`);
  const shown = defaultText(schema);
  // An option that dfdc run names otherwise (folds' --parts is its --total-parts) says so where it is not.
  const text = help.runFlag !== undefined && flag !== help.runFlag ? `${help.help} (dfdc run calls it ${help.runFlag})` : help.help;
  const description = shown === undefined ? text : `${text} (default: ${shown})`;
  const option = new Option(isBooleanFlag(schema) ? flag : `${flag} <${help.value ?? 'value'}>`, description);
  if (help.env) option.env(help.env);
  if (help.choices) option.choices(help.choices);
  return option;
}

/** Adds the options of `shape` to `command`, each under the flag `flagFor(key)` (default: from the key). */
export function addOptions(command: Command, shape: Shape, flagFor: (key: string) => string | false = flagOf): Command {
  for (const [key, schema] of Object.entries(shape)) {
    const flag = flagFor(key);
    if (flag !== false) command.addOption(commanderOption(flag, schema));
  }
  return command;
}

function pick(raw: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((key) => raw[key] !== undefined).map((key) => [key, raw[key]]));
}

/** The run options a stage takes: all of them for a stage of units, none for a whole-data-set stage. */
function runShape(stages: readonly Stage[]): Shape {
  const units = stages.filter((stage) => stage.kind === 'units');
  if (units.length === 0) return { quiet: runOptions.quiet, json: runOptions.json };
  const mtcnn = units.some((stage) => stage.pool === 'mtcnn');
  return { ...workersOption(workersHelp(units)), ...(mtcnn ? backendOption : {}), ...runOptions };
}

/** `--workers`' help: the stage's own meaning, or each meaning with the stages it holds for (`dfdc run`). */
function workersHelp(units: readonly Extract<Stage, { kind: 'units' }>[]): string {
  if (units.length === 1) return units[0]!.workersHelp;
  const stagesOf = new Map<string, string[]>();
  for (const stage of units) stagesOf.set(stage.workersHelp, [...(stagesOf.get(stage.workersHelp) ?? []), stage.name]);
  return [...stagesOf].map(([help, names]) => `${names.join(', ')}: ${help}`).join('; ');
}

/** The folders, and the layout of DATA_ROOT with its options: every command that reads a data set takes them. */
export function dirsShape(stages: readonly Stage[]): Shape {
  const { cropsDir, ...others } = datasetDirsOptions;
  return { ...(stages.some((stage) => stage.readsCrops) ? { ...others, cropsDir } : others), ...datasetOptions };
}

interface ParsedCommon {
  dirs: DatasetDirs;
  dataset: DatasetOptions;
  options: Partial<RunOptions>;
}

function parseCommon(raw: Record<string, unknown>, stages: readonly Stage[]): ParsedCommon {
  // The crops stage deletes and replaces crops folders: its crops folder must be one of its own.
  const writesCrops = stages.some((stage) => stage.kind === 'units' && stage.writesCrops === true);
  const dirs = resolveDatasetDirs(datasetDirsSchema.parse(pick(raw, Object.keys(datasetDirsOptions))), { writesCrops });
  const dataset = datasetOptionsSchema.parse(pick(raw, Object.keys(datasetOptions))) as DatasetOptions;
  const shape = runShape(stages);
  const options = z.object(shape).parse(pick(raw, Object.keys(shape))) as Partial<RunOptions>;
  return { dirs, dataset, options };
}

/** `dfdc <stage>`: the stage's own command, with its settings' flags as declared. */
export function stageCommand(stage: Stage): Command {
  const command = new Command(stage.name).description(stage.description);
  addOptions(command, dirsShape([stage]));
  addOptions(command, stage.settings.shape);
  addOptions(command, runShape([stage]));
  return command.action(async (raw: Record<string, unknown>) => {
    const settings = stage.settings.parse(pick(raw, Object.keys(stage.settings.shape)));
    const { dirs, dataset, options } = parseCommon(raw, [stage]);
    process.exitCode = await runStages({ dirs, dataset, options, stages: [{ stage, settings }], makers: pipelineStages });
  });
}

/** The `dfdc run` flag of a stage's setting: its run flag, else its own; false when `dfdc run` sets it. */
function runFlagOf(key: string, schema: z.core.$ZodType): string | false {
  const runFlag = optionHelp(schema)?.runFlag;
  return runFlag === undefined ? flagOf(key) : runFlag;
}

/**
 * `dfdc run`: every stage's settings under their run flags, checked at build time for collisions.
 * `fixed` gives the settings `dfdc run` sets itself (runFlag false), from its own parsed options.
 */
export function pipelineCommand(
  name: string,
  description: string,
  stages: readonly Stage[],
  extra: Shape,
  fixed: (raw: Record<string, unknown>) => Record<string, Record<string, unknown>>,
): Command {
  const command = new Command(name).description(description);
  const taken = new Map<string, string>();
  const claim = (flag: string, owner: string) => {
    const earlier = taken.get(flag);
    if (earlier) throw new Error(`dfdc ${name}: ${owner} and ${earlier} both want ${flag}; give one a runFlag`);
    taken.set(flag, owner);
  };
  const common: Shape = { ...dirsShape(stages), ...runShape(stages) };
  for (const key of Object.keys(common)) claim(flagOf(key), 'dfdc run');
  for (const key of Object.keys(extra)) claim(flagOf(key), 'dfdc run');
  addOptions(command, dirsShape(stages));
  addOptions(command, extra);
  for (const stage of stages) {
    for (const [key, schema] of Object.entries(stage.settings.shape)) {
      const flag = runFlagOf(key, schema);
      if (flag !== false) claim(flag, `${stage.name}.${key}`);
    }
    addOptions(command, stage.settings.shape, (key) => runFlagOf(key, stage.settings.shape[key]!));
  }
  addOptions(command, runShape(stages));
  return command.action(async (raw: Record<string, unknown>) => {
    const given = fixed(z.object(extra).parse(pick(raw, Object.keys(extra))));
    const runs: StageRun[] = stages.map((stage) => ({ stage, settings: parseUnderRunFlags(stage, raw, given[stage.name] ?? {}) }));
    const { dirs, dataset, options } = parseCommon(raw, stages);
    process.exitCode = await runStages({ dirs, dataset, options, stages: runs, makers: pipelineStages });
  });
}

/** A stage's settings from `dfdc run`'s values; a bad value is reported under the flag the user typed. */
function parseUnderRunFlags(stage: Stage, raw: Record<string, unknown>, fixed: Record<string, unknown>): Record<string, unknown> {
  const keys = new Map<string, string>();
  const input: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(stage.settings.shape)) {
    const flag = runFlagOf(key, schema);
    if (flag === false) {
      if (fixed[key] !== undefined) input[key] = fixed[key];
      continue;
    }
    keys.set(key, keyOf(flag));
    if (raw[keyOf(flag)] !== undefined) input[key] = raw[keyOf(flag)];
  }
  const parsed = stage.settings.safeParse(input);
  if (parsed.success) return parsed.data as Record<string, unknown>;
  throw new ZodError(parsed.error.issues.map((issue) => ({ ...issue, path: issue.path.map((part) => (typeof part === 'string' ? (keys.get(part) ?? part) : part)) })));
}

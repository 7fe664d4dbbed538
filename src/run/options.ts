import { z } from 'zod';
import { backendChoices } from '../mtcnn/engine.js';
import { nameList, option, wholeNumber } from '../util/options.js';

/**
 * The options of every processing command that are about the run rather than a stage's outputs:
 * resume, selection, sharding, output, and the worker threads. Declared once with their help.
 */
export const runOptions = {
  force: option(z.boolean().default(false), { help: 'recompute units already complete, and accept settings that differ from the earlier run' }),
  parts: option(nameList('part').optional(), {
    help: 'only these parts: comma-separated part numbers or folder names',
    value: 'list',
    defaultText: 'all parts',
  }),
  limit: option(wholeNumber(1).optional(), {
    help: 'only the first N REAL videos (with their FAKEs): a slice to try first',
    value: 'n',
    defaultText: 'no limit',
  }),
  shardIndex: option(wholeNumber(0).optional(), {
    help: 'process shard i of --shard-count (also read from JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX or SLURM_ARRAY_TASK_ID)',
    value: 'i',
    defaultText: 'no sharding',
  }),
  shardCount: option(wholeNumber(1).optional(), {
    help: 'number of shards of the whole job (also DFDC_SHARD_COUNT; SLURM_ARRAY_TASK_COUNT only for a full 0..n-1 array)',
    value: 'n',
    defaultText: 'no sharding',
  }),
  quiet: option(z.boolean().default(false), { help: 'print only problems and the summary' }),
  json: option(z.boolean().default(false), { help: 'print the run summary as JSON on stdout' }),
};

/**
 * `--workers`: every stage with a pool or with several videos in flight. `help` says what it sets
 * for the command's stages (their workersHelp), since that differs from stage to stage.
 */
export function workersOption(help: string) {
  return {
    workers: option(wholeNumber(1).optional(), {
      help,
      value: 'n',
      defaultText: 'the CPUs this process may use (affinity, cgroup quota), fewer if its memory limit allows fewer',
    }),
  };
}

/** `--backend`: stages that run MTCNN. */
export const backendOption = {
  backend: option(z.enum(backendChoices).default('auto'), {
    help: "MTCNN engine: auto (native where it loads, else wasm), native (ONNX Runtime's CPU kernels, the optional onnxruntime-node), wasm (TF.js WebAssembly, installs from npm), cpu (TF.js pure JS, slow), tensorflow (needs @tensorflow/tfjs-node or -node-gpu installed by you)",
    value: 'name',
    choices: backendChoices,
  }),
};

const runOptionsSchema = z.object({ ...runOptions, ...workersOption(''), ...backendOption });
export type RunOptions = z.infer<typeof runOptionsSchema>;

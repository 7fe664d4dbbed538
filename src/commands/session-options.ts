import { resolveShard } from '../run/shard.js';
import { Session } from '../run/session.js';
import { resolveDatasetDirs, type datasetOptionsSchema, type runOptionsSchema } from './shared-options.js';
import type { z } from 'zod';

/** Opens a run session from the parsed dataset and run options that every processing command shares. */
export async function openSession(options: z.infer<typeof datasetOptionsSchema> & z.infer<typeof runOptionsSchema>): Promise<Session> {
  const dirs = resolveDatasetDirs(options);
  const shard = resolveShard(options, process.env);
  return Session.open({
    dirs,
    quiet: options.quiet,
    json: options.json,
    selection: {
      ...(options.parts ? { parts: options.parts } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
      ...(shard ? { shard } : {}),
    },
  });
}

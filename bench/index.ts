import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describeMachine } from './_machine.js';

/**
 * `npm run bench [name...]`: runs every bench/<name>.ts (or the named ones) in turn and prints one
 * JSON object, `{ "<name>": { ...figures } }`, on stdout. Progress goes to stderr. No figure is
 * asserted anywhere: the targets are in the issues, the numbers are measured here.
 * Each benchmark module exports `default async function (): Promise<Record<string, unknown>>`.
 *
 * The machine (CPU model and SIMD extensions, the cores and memory this process may use, Node,
 * ffmpeg, the MTCNN engine `--backend auto` picks) is printed once at the top, as `machine`, and
 * again in each benchmark's result with the load average at its start (bench/_machine.ts): a
 * figure means nothing without the machine it was measured on.
 */
const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const names = readdirSync(here)
  .filter((file) => file.endsWith('.js') && file !== 'index.js' && !file.startsWith('_'))
  .map((file) => file.slice(0, -3))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();

const results: Record<string, unknown> = { machine: await describeMachine() };
process.stderr.write(`bench: on ${(results.machine as { summary: string }).summary}\n`);
for (const name of names) {
  process.stderr.write(`bench: ${name}...\n`);
  const module = (await import(pathToFileURL(join(here, `${name}.js`)).href)) as {
    default: () => Promise<Record<string, unknown>>;
  };
  const machine = await describeMachine();
  try {
    results[name] = { machine, ...(await module.default()) };
  } catch (error) {
    results[name] = { machine, error: error instanceof Error ? error.message : String(error) };
  }
}
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FatalError } from '../util/errors.js';

/**
 * The one place that loads and selects a TF.js backend, per thread (a worker thread has its own TF.js
 * engine and calls this itself):
 * - `wasm` (default): XNNPACK with SIMD, single-threaded (WebAssembly threads do not start in Node;
 *   parallelism is worker threads). Its .wasm files are located from the installed package.
 * - `cpu`: plain JS kernels, about 30x slower; a last resort.
 * - `tensorflow`: libtensorflow through @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node, which are
 *   optional and not dependencies of dfdc; imported by a name in a variable so nothing needs them.
 */

export const tfjsBackendNames = ['wasm', 'cpu', 'tensorflow'] as const;

/**
 * TF.js itself, imported on first use: a command that never runs a TF.js backend (the native
 * engine, crops, diffs, folds) does not pay the tenth of a second its import costs.
 */
export const tfjsCore = () => import('@tensorflow/tfjs-core');
export type TfjsBackendName = (typeof tfjsBackendNames)[number];

const tensorflowPackages = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

/** The .wasm binaries of @tensorflow/tfjs-backend-wasm, by the file names the backend asks for. */
export function wasmBinaryPaths(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  const names = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
  return Object.fromEntries(names.map((name) => [name, join(dist, name)]));
}

async function registerWasm(): Promise<void> {
  const tf = await tfjsCore();
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  wasm.setWasmPaths(wasmBinaryPaths());
}

async function registerCpu(): Promise<void> {
  await import('@tensorflow/tfjs-backend-cpu');
}

async function registerTensorflow(): Promise<void> {
  const tf = await tfjsCore();
  const failures: string[] = [];
  for (const specifier of tensorflowPackages) {
    try {
      await import(specifier);
    } catch (error) {
      failures.push(`${specifier}: ${(error as Error).message.split('\n')[0]}`);
      continue;
    }
    if (tf.findBackendFactory('tensorflow')) return;
    throw new FatalError(
      `${specifier} is installed but registered its backend with another copy of @tensorflow/tfjs-core; install the version matching @tensorflow/tfjs-core ${tf.version_core}, or use --backend auto (the default: the native engine, else wasm)`,
    );
  }
  const notInstalled = failures.every((line) => /Cannot find (package|module)/.test(line));
  throw new FatalError(
    notInstalled
      ? `the tensorflow backend needs @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA), and neither is installed: run \`npm install @tensorflow/tfjs-node@${tf.version_core}\` beside dfdc, or use --backend auto (the default: the native engine, else wasm), which needs nothing else`
      : `the tensorflow backend could not be loaded (${failures.join('; ')}); the default --backend wasm needs nothing else`,
  );
}

const registered = new Map<TfjsBackendName, Promise<void>>();
let active: TfjsBackendName | undefined;

/** Loads `name` (once per thread), makes it TF.js's active backend and waits until it is ready. */
export async function useBackend(name: TfjsBackendName = 'wasm'): Promise<void> {
  if (active === name) return;
  const tf = await tfjsCore();
  // Silences TF.js's console advice (e.g. the cpu backend's "install tfjs-node" banner).
  tf.env().set('PROD', true);
  let registration = registered.get(name);
  if (!registration) {
    registration = name === 'wasm' ? registerWasm() : name === 'cpu' ? registerCpu() : registerTensorflow();
    registered.set(name, registration);
    registration.catch(() => registered.delete(name));
  }
  await registration;
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
  } catch (error) {
    throw new FatalError(`the TF.js ${name} backend failed to start: ${(error as Error).message}`);
  }
  if (!ok) throw new FatalError(`the TF.js ${name} backend failed to start`);
  await tf.ready();
  active = name;
}

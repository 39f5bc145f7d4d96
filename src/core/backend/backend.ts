import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// A named import, not a bare one: the cpu package declares its node entry
// free of side effects, so esbuild would drop `import '...-cpu'` and with it
// the backend registration.
import { version_cpu as cpuVersion } from '@tensorflow/tfjs-backend-cpu';
import * as tfWasm from '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels } from './kernels';

/** The numeric backends the engine can run on, fastest first. */
export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendChoice {
  name: BackendName;
  /** One sentence for logs and the status bar: why this backend. */
  reason: string;
}

export interface InitBackendOptions {
  /** Use exactly this backend; failing to load it is an error, not a fallback. */
  force?: BackendName;
  /**
   * Folder holding `tfjs-backend-wasm*.wasm`, for bundles that ship a copy.
   * Defaults to the `dist` folder of the installed package. Only read before
   * the wasm backend has first been initialised in this process.
   */
  wasmDir?: string;
  /** Receives the choice and every warning. Warnings also reach console.warn when absent. */
  log?: (message: string) => void;
}

type Attempt = { ok: true; detail: string } | { ok: false; why: string };

const TFJS_NODE = '@tensorflow/tfjs-node';
const REMEDY: Record<BackendName, string> = {
  tensorflow: `install ${TFJS_NODE} (its install downloads libtensorflow) or choose the wasm backend`,
  wasm: 'point wasmDir at the folder holding the .wasm files or choose the cpu backend',
  cpu: 'this is a bug in the tfjs installation',
};
const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm'];

/**
 * Picks the numeric backend: tfjs-node (`tensorflow`) when it loads, else
 * WebAssembly, else the pure-JS `cpu` backend (about 30x slower than wasm on
 * matrix products, so falling back to it is always announced as a warning).
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendChoice> {
  const warn = (message: string): void => {
    if (options.log) options.log(`warning: ${message}`);
    else console.warn(`MetaComplete: ${message}`);
  };
  registerWasmKernels();

  if (options.force !== undefined) {
    const attempt = await tryBackend(options.force, options);
    if (!attempt.ok) {
      throw new Error(
        `The ${options.force} backend was requested but could not be used: ${attempt.why}; ${REMEDY[options.force]}.`,
      );
    }
    return report({ name: options.force, reason: `${options.force} was requested; ${attempt.detail}` }, options);
  }

  const tensorflow = await tryBackend('tensorflow', options);
  if (tensorflow.ok) return report({ name: 'tensorflow', reason: tensorflow.detail }, options);

  const wasm = await tryBackend('wasm', options);
  if (wasm.ok) {
    return report({ name: 'wasm', reason: `${wasm.detail}; tensorflow unavailable: ${tensorflow.why}` }, options);
  }

  warn(
    `the WebAssembly backend failed to load (${wasm.why}); falling back to the pure-JS cpu backend, ` +
      'which trains about 30x slower. Reinstall the extension or set wasmDir to the folder with the .wasm files.',
  );
  const cpu = await tryBackend('cpu', options);
  if (!cpu.ok) throw new Error(`No numeric backend could be initialised: ${cpu.why}`);
  return report(
    { name: 'cpu', reason: `fallback: wasm failed (${wasm.why}); tensorflow unavailable: ${tensorflow.why}` },
    options,
  );
}

function report(choice: BackendChoice, options: InitBackendOptions): BackendChoice {
  options.log?.(`numeric backend: ${choice.name} (${choice.reason})`);
  return choice;
}

async function tryBackend(name: BackendName, options: InitBackendOptions): Promise<Attempt> {
  switch (name) {
    case 'tensorflow':
      return tryTensorflow();
    case 'wasm':
      return tryWasm(options.wasmDir);
    case 'cpu':
      return (await setBackendCapturingWarnings('cpu')).ok
        ? { ok: true, detail: `pure-JS kernels (tfjs-backend-cpu ${cpuVersion})` }
        : { ok: false, why: 'tf.setBackend("cpu") failed' };
  }
}

async function tryTensorflow(): Promise<Attempt> {
  try {
    // A plain require so that esbuild leaves the optional module external and
    // a missing install surfaces here as an ordinary exception.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(TFJS_NODE);
  } catch (error) {
    return { ok: false, why: `${TFJS_NODE} is not installed or failed to load (${firstLine(error)})` };
  }
  const result = await setBackendCapturingWarnings('tensorflow');
  return result.ok
    ? { ok: true, detail: 'native TensorFlow via tfjs-node' }
    : { ok: false, why: `${TFJS_NODE} loaded but its backend did not initialise (${result.warnings})` };
}

async function tryWasm(wasmDir: string | undefined): Promise<Attempt> {
  if (!isInitialised('wasm')) {
    // setWasmPaths only matters before the first initialisation.
    const dir = wasmDir ?? packagedWasmDir();
    if (dir === undefined) {
      return { ok: false, why: 'cannot locate @tensorflow/tfjs-backend-wasm; pass wasmDir' };
    }
    const missing = WASM_FILES.filter((file) => !fs.existsSync(path.join(dir, file)));
    if (missing.length > 0) return { ok: false, why: `${missing.join(', ')} not found in ${dir}` };
    try {
      tfWasm.setWasmPaths(dir.endsWith(path.sep) || dir.endsWith('/') ? dir : dir + path.sep);
    } catch (error) {
      return { ok: false, why: firstLine(error) };
    }
  }
  const result = await setBackendCapturingWarnings('wasm');
  if (!result.ok) return { ok: false, why: result.warnings || 'tf.setBackend("wasm") returned false' };
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  return {
    ok: true,
    detail: `WebAssembly${simd === true ? ' with SIMD' : ''}, ${tfWasm.getThreadsCount()} thread(s)`,
  };
}

/** Unlike tf.findBackend, this does not start initialising the backend. */
function isInitialised(name: BackendName): boolean {
  return name in tf.engine().registry;
}

function packagedWasmDir(): string | undefined {
  try {
    return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  } catch {
    return undefined;
  }
}

/**
 * tfjs reports a failed backend initialisation only through console.warn and
 * a `false` result; capture those lines so the reason reaches our log.
 */
async function setBackendCapturingWarnings(name: string): Promise<{ ok: boolean; warnings: string }> {
  const captured: string[] = [];
  const originalWarn = console.warn;
  console.warn = (...parts: unknown[]) => {
    captured.push(parts.map(String).join(' '));
  };
  let ok = false;
  try {
    ok = await tf.setBackend(name);
    if (ok) await tf.ready();
  } catch (error) {
    captured.push(firstLine(error));
  } finally {
    console.warn = originalWarn;
  }
  // On success the lines are not a failure reason: pass them on, unrelated
  // warnings from elsewhere included.
  if (ok) for (const line of captured) console.warn(line);
  return { ok: ok && tf.getBackend() === name, warnings: captured.map((line) => line.split('\n')[0]).join('; ') };
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String((error as { message?: unknown })?.message ?? error);
  return message.split('\n')[0];
}

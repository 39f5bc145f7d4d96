// Builds the 10,000-file workspace of the host bench's load workload from real
// code: the sources of installed packages (rxjs, TensorFlow.js, TypeScript's lib
// files, mocha, playwright-core, ...), copied in a fixed order into a temporary
// folder and repeated under copy-N/ folders until there are enough. The same
// package-lock gives the same file list every run; a folder already built from
// the same list is reused.
//   node scripts/load-workspace.mjs [--files 10000] [--dir <folder>]
// Prints one JSON line: { dir, files, bytes, uniqueFiles, fingerprint }.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NODE_MODULES = join(REPO, 'node_modules');
/** The packages whose sources make up the workspace, in this order. */
const PACKAGES = [
  'rxjs',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  'typescript',
  'mocha',
  'playwright-core',
  'esbuild',
  '@vscode/test-electron',
  '@vscode/vsce',
  '@vscode/webview-ui-toolkit',
  'graphology',
  'graphology-communities-louvain',
  'uplot',
  '@types/node',
  '@types/vscode',
  '@types/mocha',
];
const SOURCE_FILE = /\.(?:ts|tsx|js|jsx|mjs|cjs|mts|cts)$/;
/** Minified bundles are one long line, not code anyone edits; larger files are rare in a code base. */
const MAX_BYTES = 128 * 1024;
/** Folder names the indexer always leaves out; renamed so that their files are part of the workspace. */
const EXCLUDED_FOLDERS = new Set(['node_modules', 'dist', 'out', 'build', '.git']);
const MANIFEST = '.metacomplete-load-workspace.json';

function option(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

/** Source files of one package, sorted, as paths relative to node_modules; nested node_modules are not entered. */
function packageSources(name) {
  const root = join(NODE_MODULES, name);
  if (!existsSync(root)) throw new Error(`No ${name} in node_modules: run \`npm install\` in ${REPO}.`);
  const found = [];
  const walk = (folder) => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const full = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(full);
      } else if (entry.isFile() && SOURCE_FILE.test(entry.name) && !entry.name.includes('.min.')) {
        const bytes = statSync(full).size;
        if (bytes > 0 && bytes <= MAX_BYTES) found.push({ source: relative(NODE_MODULES, full).split('\\').join('/'), bytes });
      }
    }
  };
  walk(root);
  return found;
}

/** Where a source file goes in copy `copy` of the workspace. */
function targetOf(source, copy) {
  const segments = source.split('/').map((segment) => (EXCLUDED_FOLDERS.has(segment) ? `${segment}_` : segment));
  return copy === 0 ? segments.join('/') : `copy-${copy}/${segments.join('/')}`;
}

/** The workspace's file list: [target, source, bytes], `count` of them. */
export function workspaceFiles(count) {
  const sources = PACKAGES.flatMap(packageSources);
  if (sources.length === 0) throw new Error('No source files found in the packages.');
  const files = [];
  for (let index = 0; files.length < count; index++) {
    const { source, bytes } = sources[index % sources.length];
    files.push([targetOf(source, Math.floor(index / sources.length)), source, bytes]);
  }
  return { files, uniqueFiles: Math.min(sources.length, count) };
}

export function buildLoadWorkspace(dir, count) {
  const { files, uniqueFiles } = workspaceFiles(count);
  const fingerprint = createHash('sha256').update(JSON.stringify(files)).digest('hex').slice(0, 16);
  const bytes = files.reduce((sum, [, , size]) => sum + size, 0);
  const summary = { dir, files: files.length, bytes, uniqueFiles, fingerprint };
  const manifest = join(dir, MANIFEST);
  const built = existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')) : undefined;
  if (built?.fingerprint === fingerprint) return summary;
  // Only a folder this script made is ever deleted.
  if (built === undefined && existsSync(dir) && readdirSync(dir).length > 0) {
    throw new Error(`${dir} exists and is not a load workspace built by this script; pick another --dir.`);
  }
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(manifest, JSON.stringify({ fingerprint: null }));
  for (const [target, source] of files) {
    const destination = join(dir, target);
    mkdirSync(dirname(destination), { recursive: true });
    copyFileSync(join(NODE_MODULES, source), destination);
  }
  // Its fingerprint is written last: a build that was interrupted is redone.
  writeFileSync(manifest, JSON.stringify(summary));
  return summary;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const count = Number(option('--files', '10000'));
  if (!Number.isInteger(count) || count < 1) throw new Error(`--files must be a positive whole number; got ${option('--files')}.`);
  const dir = resolve(option('--dir', join(tmpdir(), `metacomplete-load-${count}`)));
  process.stdout.write(`${JSON.stringify(buildLoadWorkspace(dir, count))}\n`);
}

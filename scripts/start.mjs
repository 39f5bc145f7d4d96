// `npm start [-- <folder>]`: opens MetaComplete in real VS Code on a folder
// (default: the bundled sample workspace, samples/workspace).
//   - With a `code` binary on PATH: `code --extensionDevelopmentPath=<repo> <folder>`.
//   - Else code-server 4.100.3 (installed by scripts/code-server/install.sh) on
//     127.0.0.1 and a free port, with the built extension packaged and
//     installed into a fresh extensions folder; prints the URL and serves until
//     Ctrl-C, then stops every process it started and removes its folders.
// `--code-server` uses code-server even where `code` exists; `--port N` picks the port.
// `npm start` builds first (dist/); run `node scripts/start.mjs` only after a build.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import launch from './code-server/launch.cjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function fail(message) {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const options = { folder: path.join(repo, 'samples', 'workspace'), isSample: true, forceCodeServer: false, port: 0 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--code-server') options.forceCodeServer = true;
    else if (arg === '--port') options.port = Number(argv[++i]);
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: npm start [-- [--code-server] [--port N] [folder]]\n');
      process.exit(0);
    } else if (arg.startsWith('-')) fail(`unknown option ${arg}; see npm start -- --help.`);
    else {
      options.folder = path.resolve(process.env.INIT_CWD ?? process.cwd(), arg);
      options.isSample = false;
    }
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) fail('--port needs a number between 1 and 65535.');
  if (!fs.existsSync(options.folder) || !fs.statSync(options.folder).isDirectory()) fail(`${options.folder} is not a folder.`);
  return options;
}

/** The `code` binary of a VS Code desktop install, if one is on PATH. */
function findCode() {
  const result = spawnSync(process.platform === 'win32' ? 'where' : 'which', ['code'], { encoding: 'utf8' });
  const found = result.status === 0 ? result.stdout.split(/\r?\n/)[0].trim() : '';
  // code-server's terminal puts its own `code` (remote-cli) on PATH; it cannot load a development extension.
  return found !== '' && !found.includes('remote-cli') ? found : undefined;
}

function openInDesktopCode(code, folder) {
  process.stdout.write(`Opening ${folder} in VS Code with MetaComplete from ${repo}.\n`);
  const child = spawn(code, [`--extensionDevelopmentPath=${repo}`, '--new-window', folder], { stdio: 'inherit' });
  child.on('exit', (status) => process.exit(status ?? 1));
}

// --- code-server --------------------------------------------------------------------

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

function healthy(url) {
  return new Promise((resolve) => {
    const request = http.get(`${url}/healthz`, { timeout: 2000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(false));
  });
}

async function startCodeServer(requestedFolder, isSample, requestedPort) {
  if (!fs.existsSync(path.join(repo, 'dist', 'extension.js'))) fail('dist/extension.js is missing: run `npm run build` first (npm start does).');
  process.stdout.write('No `code` on PATH: starting code-server (VS Code 1.100.3 in the browser).\n');
  const install = spawnSync('bash', [path.join(repo, 'scripts', 'code-server', 'install.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (install.status !== 0) fail('installing code-server failed (see above); it needs the npm registry and, for its Debian packages, root.');
  const entry = path.join(install.stdout.trim().split('\n').pop(), 'out', 'node', 'entry.js');

  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'metacomplete-start-'));
  let server;
  let stopping = false;
  const cleanUp = () => {
    if (server?.pid !== undefined && server.exitCode === null) {
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    fs.rmSync(root, { recursive: true, force: true });
  };
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nStopping code-server...\n');
    if (server?.pid !== undefined && server.exitCode === null) {
      // The whole process group: the server, its extension host, file watcher and terminals.
      try {
        process.kill(-server.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      const deadline = Date.now() + 5000;
      while (server.exitCode === null && server.signalCode === null && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    cleanUp();
    process.exit(code);
  };
  process.on('exit', cleanUp);
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGHUP', () => void stop(0));

  // The web workbench saves edits after a delay: trying out the bundled sample must not change the repository.
  const folder = isSample ? path.join(root, 'workspace') : requestedFolder;
  if (isSample) fs.cpSync(requestedFolder, folder, { recursive: true });
  const env = launch.isolatedEnv(root);
  const userData = path.join(root, 'user-data');
  const extensions = path.join(root, 'extensions');
  fs.mkdirSync(path.join(userData, 'User'), { recursive: true });
  fs.mkdirSync(extensions, { recursive: true });
  fs.writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify({
      ...launch.QUIET_SETTINGS,
      // The repository around samples/workspace is MetaComplete's own; no prompt to open it.
      'git.openRepositoryInParentFolders': 'never',
    }, null, 2),
  );
  const folderArgs = launch.folderArgs(userData, extensions);

  process.stdout.write('Packaging and installing the built extension...\n');
  const vsix = path.join(root, 'metacomplete.vsix');
  execFileSync(process.execPath, [
    path.join(repo, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--no-dependencies', '--no-rewrite-relative-links', '--out', vsix,
  ], { cwd: repo, stdio: ['ignore', 'ignore', 'inherit'] });
  const installed = spawnSync(process.execPath, [entry, '--install-extension', vsix, ...folderArgs], { env, encoding: 'utf8' });
  if (installed.status !== 0 || !/successfully installed/i.test(`${installed.stdout}${installed.stderr}`)) {
    fail(`code-server could not install the extension:\n${installed.stdout}${installed.stderr}`);
  }

  const port = requestedPort || (await freePort());
  const base = `http://127.0.0.1:${port}`;
  const logFile = path.join(root, 'code-server.log');
  const log = fs.openSync(logFile, 'w');
  server = spawn(process.execPath, launch.serverArgs(entry, port, userData, extensions), { detached: true, stdio: ['ignore', log, log], env });
  fs.closeSync(log);
  server.on('exit', (code, signal) => {
    if (stopping) return;
    process.stderr.write(`code-server stopped on its own (${code ?? signal}); its output:\n${fs.readFileSync(logFile, 'utf8').slice(-4000)}\n`);
    cleanUp();
    process.exit(1);
  });

  const deadline = Date.now() + 60_000;
  while (!(await healthy(base))) {
    if (Date.now() > deadline) {
      process.stderr.write(`code-server did not answer on ${base} within 60 s; its output:\n${fs.readFileSync(logFile, 'utf8').slice(-4000)}\n`);
      await stop(1);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const url = `${base}/?folder=${encodeURIComponent(folder)}`;
  const what = isSample ? `a scratch copy of ${requestedFolder}` : folder;
  process.stdout.write(`\nMetaComplete is running in VS Code (code-server) on ${what}.\nOpen ${url}\nPress Ctrl-C to stop.\n`);
}

const options = parseArgs(process.argv.slice(2));
const code = options.forceCodeServer ? undefined : findCode();
if (code !== undefined) openInDesktopCode(code, options.folder);
else await startCodeServer(options.folder, options.isSample, options.port);

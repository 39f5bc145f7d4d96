// How MetaComplete runs code-server, shared by `npm start` (scripts/start.mjs)
// and the e2e suite (test/e2e/codeServer.ts): the environment that keeps a
// server's files in its own folder, its command line, and the settings that
// keep the workbench quiet. CommonJS so that both an ES module and the
// compiled tests can load it.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** Settings every MetaComplete code-server starts with: no start page, trust prompt, telemetry or updates. */
const QUIET_SETTINGS = Object.freeze({
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
});

/**
 * Child environment that keeps code-server's config, data, caches and
 * temporary files (CLI sockets, tsserver folders) out of the home and /tmp:
 * they all go into `root`, the server's own folder.
 */
function isolatedEnv(root) {
  const env = {
    ...process.env,
    CODE_SERVER_CONFIG: path.join(root, 'config.yaml'),
    XDG_CONFIG_HOME: path.join(root, 'xdg-config'),
    XDG_DATA_HOME: path.join(root, 'xdg-data'),
    XDG_CACHE_HOME: path.join(root, 'xdg-cache'),
    TMPDIR: path.join(root, 'tmp'),
  };
  fs.mkdirSync(env.TMPDIR, { recursive: true });
  // Inherited from an outer VS Code or code-server, these would redirect the child.
  for (const name of Object.keys(env)) {
    if (name.startsWith('VSCODE_') || name === 'ELECTRON_RUN_AS_NODE' || name === 'CODE_SERVER_PARENT_PID') delete env[name];
  }
  return env;
}

/** The folders a server (and `--install-extension`) uses instead of the user's. */
function folderArgs(userDataDir, extensionsDir) {
  return ['--extensions-dir', extensionsDir, '--user-data-dir', userDataDir];
}

/** `node` arguments that serve the workbench on 127.0.0.1:`port`, without a password, prompts or update checks. */
function serverArgs(entry, port, userDataDir, extensionsDir) {
  return [
    entry,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-workspace-trust',
    '--disable-update-check',
    '--disable-getting-started-override',
    ...folderArgs(userDataDir, extensionsDir),
  ];
}

module.exports = { QUIET_SETTINGS, isolatedEnv, folderArgs, serverArgs };

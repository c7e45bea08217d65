// Picks the Python that bundles the server (scripts/bundle-server.py): $ISTIO_LSP_BUNDLE_PYTHON,
// else the repository's .venv, else python3 (python on Windows).
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const venv = path.join(root, '..', '.venv', process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
const python =
  process.env.ISTIO_LSP_BUNDLE_PYTHON ||
  (fs.existsSync(venv) ? venv : process.platform === 'win32' ? 'python' : 'python3');

const result = spawnSync(python, [path.join(__dirname, 'bundle-server.py'), ...process.argv.slice(2)], {
  stdio: 'inherit',
});
if (result.error) {
  console.error(`bundle-server: cannot run ${python}: ${result.error.message}`);
  console.error('Set ISTIO_LSP_BUNDLE_PYTHON to a Python >= 3.10 that has the server dependencies installed.');
  process.exit(1);
}
process.exit(result.status === null ? 1 : result.status);

// Runs scripts/bundle-server.py (arguments passed on) with $ISTIO_LSP_BUNDLE_PYTHON, else python3
// (python on Windows). That Python only needs venv and pip: the script makes its own build
// environment in build/ and downloads the pinned wheels (bundle-requirements.txt) there.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const python = process.env.ISTIO_LSP_BUNDLE_PYTHON || (process.platform === 'win32' ? 'python' : 'python3');
const result = spawnSync(python, [path.join(__dirname, 'bundle-server.py'), ...process.argv.slice(2)], {
  stdio: 'inherit',
});
if (result.error) {
  console.error(`bundle-server: cannot run ${python}: ${result.error.message}`);
  console.error('Install Python >= 3.10 (with venv and pip), or set ISTIO_LSP_BUNDLE_PYTHON to one.');
  process.exit(1);
}
process.exit(result.status === null ? 1 : result.status);

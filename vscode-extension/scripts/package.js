// npm run package: one istio-lsp-<version>.vsix in this folder. vsce runs `vscode:prepublish`
// (bundle the server, build the extension) first; nothing here needs the Marketplace or GitHub.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const { name, version } = require(path.join(root, 'package.json'));
const target = path.join(root, `${name}-${version}.vsix`);

for (const file of fs.readdirSync(root)) {
  if (file.endsWith('.vsix')) {
    fs.rmSync(path.join(root, file));
  }
}
const vsce = require.resolve('@vscode/vsce/vsce');
const args = [
  vsce,
  'package',
  '--no-dependencies', // esbuild bundled everything into dist/extension.js
  '--allow-missing-repository',
  '--no-rewrite-relative-links', // the README's images ship inside the package
  '--out',
  target,
];
const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (result.status !== 0 || !fs.existsSync(target)) {
  console.error('package: vsce failed');
  process.exit(result.status || 1);
}
console.log(`VSIX: ${target} (${(fs.statSync(target).size / 1024).toFixed(0)} KiB)`);

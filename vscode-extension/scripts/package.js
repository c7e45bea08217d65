// npm run package: the .vsix packages, in this folder. Nothing here needs the Marketplace or GitHub;
// the server's libraries are downloaded from the package index (scripts/bundle-server.py).
//
//   npm run package                         every platform package and the universal one
//   npm run package -- --target linux-x64   one package (repeatable; `host` is this machine's platform)
//
// A platform package (istio-lsp-<target>-<version>.vsix) carries the compiled libraries of that
// platform (google-re2, pydantic-core, PyYAML's libyaml) for CPython 3.10 to 3.14 (Alpine: no
// google-re2, which the server then says it runs without). The universal one (istio-lsp-<version>.vsix)
// carries none: VS Code installs it where no platform package exists; its launcher says what is missing.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const { name, version } = require(path.join(root, 'package.json'));
const TARGETS = ['linux-x64', 'linux-arm64', 'alpine-x64', 'alpine-arm64', 'darwin-x64', 'darwin-arm64', 'win32-x64', 'win32-arm64'];
const UNIVERSAL = 'universal';

function hostTarget() {
  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch];
  const alpine = process.platform === 'linux' && fs.existsSync('/etc/alpine-release');
  const target = `${alpine ? 'alpine' : process.platform}-${arch}`;
  return TARGETS.includes(target) ? target : UNIVERSAL;
}

function parseTargets(argv) {
  const wanted = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = arg === '--target' ? argv[++i] : arg.startsWith('--target=') ? arg.slice('--target='.length) : undefined;
    if (value === undefined) {
      fail(`unknown argument ${arg} (use --target <${[...TARGETS, UNIVERSAL, 'host'].join('|')}>)`);
    }
    const target = value === 'host' ? hostTarget() : value;
    if (![...TARGETS, UNIVERSAL].includes(target)) {
      fail(`unknown target ${value}: one of ${[...TARGETS, UNIVERSAL, 'host'].join(', ')}`);
    }
    wanted.push(target);
  }
  return wanted.length > 0 ? [...new Set(wanted)] : [...TARGETS, UNIVERSAL];
}

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(1);
}

function run(command, args, what) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    fail(`${what} failed`);
  }
}

function vsixName(target) {
  return target === UNIVERSAL ? `${name}-${version}.vsix` : `${name}-${target}-${version}.vsix`;
}

const targets = parseTargets(process.argv.slice(2));
const started = Date.now();
const vsce = require.resolve('@vscode/vsce/vsce');
const made = [];
for (const target of targets) {
  const out = path.join(root, vsixName(target));
  fs.rmSync(out, { force: true });
  run(process.execPath, [path.join(__dirname, 'bundle-server.js'), '--target', target], `bundling the server for ${target}`);
  const args = [
    vsce,
    'package',
    '--no-dependencies', // esbuild bundled everything into dist/extension.js
    '--allow-missing-repository',
    '--no-rewrite-relative-links', // the README's images ship inside the package
    '--out',
    out,
  ];
  if (target !== UNIVERSAL) {
    args.push('--target', target);
  }
  run(process.execPath, args, `vsce package (${target})`);
  if (!fs.existsSync(out)) {
    fail(`vsce did not write ${out}`);
  }
  made.push(`${path.basename(out)} (${(fs.statSync(out).size / 1024 / 1024).toFixed(1)} MiB)`);
}
console.log(`VSIX, in ${((Date.now() - started) / 1000).toFixed(0)} s:\n  ${made.join('\n  ')}`);

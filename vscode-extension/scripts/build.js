// esbuild: the extension into dist/extension.js (one file, vscode external); with --tests, test/*.test.ts
// into out/test plus a server bundle for them in out/bundled.
'use strict';
const { spawnSync } = require('child_process');
const esbuild = require('esbuild');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const production = process.argv.includes('--production');
const tests = process.argv.includes('--tests');
// VS Code 1.82 runs extensions on Node 18.
const common = { bundle: true, platform: 'node', format: 'cjs', target: 'node18', logLevel: 'warning' };

async function main() {
  if (tests) {
    const dir = path.join(root, 'test');
    const entryPoints = fs
      .readdirSync(dir)
      .filter((name) => name.endsWith('.test.ts'))
      .map((name) => path.join(dir, name));
    fs.rmSync(path.join(root, 'out'), { recursive: true, force: true });
    await esbuild.build({ ...common, entryPoints, outdir: path.join(root, 'out', 'test'), sourcemap: 'inline' });
    console.log(`build: ${entryPoints.length} test files into out/test`);
    // The tests run the server from their own bundle in out/bundled, built by the same script as the
    // package's, so that `npm test` never rewrites what `npm run package` ships.
    fs.mkdirSync(path.join(root, 'out', 'bundled'), { recursive: true });
    fs.copyFileSync(path.join(root, 'bundled', 'launch.py'), path.join(root, 'out', 'bundled', 'launch.py'));
    const bundle = spawnSync(process.execPath, [path.join(__dirname, 'bundle-server.js'), '--out', path.join(root, 'out', 'bundled', 'libs')], {
      stdio: 'inherit',
    });
    if (bundle.status !== 0) {
      throw new Error('bundling the server for the tests failed');
    }
    return;
  }
  await esbuild.build({
    ...common,
    entryPoints: [path.join(root, 'src', 'extension.ts')],
    outfile: path.join(root, 'dist', 'extension.js'),
    external: ['vscode'],
    minify: production,
    sourcemap: !production,
  });
  if (production) {
    fs.rmSync(path.join(root, 'dist', 'extension.js.map'), { force: true });
  }
  console.log(`build: dist/extension.js (${production ? 'production' : 'development'})`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

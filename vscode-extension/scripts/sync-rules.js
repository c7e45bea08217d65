// Writes the rule codes (from ../istio_lsp/docs/rules/*.md) into package.json's istioLsp.disabledRules enum.
// `node scripts/sync-rules.js --check` only compares, and fails when package.json is out of date.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const docs = path.join(root, '..', 'istio_lsp', 'docs', 'rules');

function rulesFromDocs(dir) {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.md') && name !== 'index.md')
    .sort()
    .map((name) => {
      const lines = fs.readFileSync(path.join(dir, name), 'utf8').split(/\r?\n/);
      const summary = lines.find((line, i) => i > 0 && line.trim() !== '' && !line.startsWith('#')) || '';
      return { code: name.slice(0, -3), summary: summary.trim() };
    });
}

function main() {
  const check = process.argv.includes('--check');
  const file = path.join(root, 'package.json');
  const text = fs.readFileSync(file, 'utf8');
  const pkg = JSON.parse(text);
  const rules = rulesFromDocs(docs);
  const items = pkg.contributes.configuration.properties['istioLsp.disabledRules'].items;
  items.enum = rules.map((r) => r.code);
  items.enumDescriptions = rules.map((r) => r.summary);
  const updated = JSON.stringify(pkg, null, 2) + '\n';
  if (updated === text) {
    console.log(`sync-rules: package.json lists all ${rules.length} rules`);
    return 0;
  }
  if (check) {
    console.error('sync-rules: package.json is out of date with istio_lsp/docs/rules; run `npm run sync-rules`');
    return 1;
  }
  fs.writeFileSync(file, updated);
  console.log(`sync-rules: wrote ${rules.length} rules into package.json`);
  return 0;
}

process.exitCode = main();

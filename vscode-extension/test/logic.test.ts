import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { describe, it } from 'node:test';
import { NEVER_DROPPED, SCHEMA_CODES, asOverlapMode, overlapDisabledRules, schemasCoverIstio } from '../src/overlap';
import { listRules, ruleDocFile } from '../src/rules';
import { effectiveSettings } from '../src/settings';
import { countSeverities, failedView, findingsView, parseStatus, statusView } from '../src/status';
import { asTraceArgument, formatTraceArgument, parseTraceArgument, traceMarkdown } from '../src/trace';
import { EXTENSION_ROOT, REPO_ROOT } from './helpers';

const installed = { installed: true, validate: undefined, schemas: {} };

describe('overlap with the YAML extension', () => {
  it('reports everything when the YAML extension is absent', () => {
    assert.deepEqual(overlapDisabledRules('auto', { ...installed, installed: false }).rules, []);
  });
  it('leaves syntax errors to it when it validates (default)', () => {
    assert.deepEqual(overlapDisabledRules('auto', installed).rules, ['yaml-syntax-error']);
    assert.deepEqual(overlapDisabledRules('auto', { ...installed, validate: true }).rules, ['yaml-syntax-error']);
  });
  it('reports everything when yaml.validate is false', () => {
    assert.deepEqual(overlapDisabledRules('auto', { ...installed, validate: false }).rules, []);
  });
  it('leaves schema problems too when yaml.schemas maps kubernetes or an Istio schema', () => {
    for (const schemas of [
      { kubernetes: '*.yaml' },
      { Kubernetes: ['k8s/**'] },
      { 'https://example.com/istio/virtualservice.json': 'mesh/*.yaml' },
      { 'https://example.com/crd.json': ['istio/**/*.yaml'] },
    ]) {
      const rules = overlapDisabledRules('auto', { ...installed, schemas }).rules;
      assert.deepEqual(rules, ['yaml-syntax-error', ...SCHEMA_CODES], JSON.stringify(schemas));
    }
    assert.equal(schemasCoverIstio({ 'https://json.schemastore.org/github-workflow.json': '.github/**' }), false);
    assert.equal(schemasCoverIstio('kubernetes'), false);
    assert.equal(schemasCoverIstio(null), false);
  });
  it('follows the explicit modes whatever is installed', () => {
    assert.deepEqual(overlapDisabledRules('reportAll', { ...installed, schemas: { kubernetes: '*' } }).rules, []);
    const all = overlapDisabledRules('leaveToYamlExtension', { installed: false, validate: false, schemas: {} }).rules;
    assert.deepEqual(all, ['yaml-syntax-error', ...SCHEMA_CODES]);
  });
  it('never drops the API version rules', () => {
    for (const mode of ['auto', 'reportAll', 'leaveToYamlExtension'] as const) {
      const rules = overlapDisabledRules(mode, { ...installed, schemas: { kubernetes: '*' } }).rules;
      assert.ok(NEVER_DROPPED.every((code) => !rules.includes(code)));
    }
  });
  it('reads unknown mode values as auto', () => {
    assert.equal(asOverlapMode('bogus'), 'auto');
    assert.equal(asOverlapMode(undefined), 'auto');
    assert.equal(asOverlapMode('reportAll'), 'reportAll');
  });
  it('only names codes that are real rules', () => {
    const codes = new Set(listRules(path.join(REPO_ROOT, 'istio_lsp', 'docs', 'rules')).map((r) => r.code));
    for (const code of [...overlapDisabledRules('leaveToYamlExtension', installed).rules, ...NEVER_DROPPED]) {
      assert.ok(codes.has(code), code);
    }
  });
});

describe('effective settings', () => {
  it('merges the overlap rules into the user disabledRules without duplicates', () => {
    const result = effectiveSettings(
      { defaultNamespace: 'shop', disabledRules: ['gateway-not-found', 'yaml-syntax-error'] },
      ['yaml-syntax-error', 'unknown-field'],
    );
    assert.deepEqual(result, {
      defaultNamespace: 'shop',
      disabledRules: ['gateway-not-found', 'yaml-syntax-error', 'unknown-field'],
    });
  });
  it('keeps extension-only settings away from the server', () => {
    const result = effectiveSettings(
      { server: { path: '/x', args: [] }, interpreter: ['/py'], importStrategy: 'useBundled', trace: { server: 'off' }, yamlExtensionOverlap: 'auto', severity: { a: 'off' } },
      [],
    );
    assert.deepEqual(result, { severity: { a: 'off' }, disabledRules: [] });
  });
  it('copes with missing or malformed sections', () => {
    assert.deepEqual(effectiveSettings(undefined, ['x']), { disabledRules: ['x'] });
    assert.deepEqual(effectiveSettings({ disabledRules: 'nope' }, []), { disabledRules: [] });
  });
});

describe('status bar', () => {
  const ready = { state: 'ready', done: 300, total: 300, files: 300, errors: 6, warnings: 2, findings: 9 };
  it('shows indexing progress', () => {
    const view = statusView(parseStatus({ ...ready, state: 'indexing', done: 120 })!, 'bundled');
    assert.equal(view.text, '$(sync~spin) Istio: indexing 120/300');
  });
  it('shows errors and warnings when ready, and a check mark when clean', () => {
    const view = statusView(parseStatus(ready)!, 'bundled server');
    assert.equal(view.text, '$(error) 6 $(warning) 2 Istio');
    assert.match(view.tooltip, /300 files indexed/);
    assert.match(view.tooltip, /1 other findings/);
    assert.equal(view.command, 'problems');
    assert.equal(statusView(parseStatus({ ...ready, errors: 0, warnings: 0, findings: 0 })!, '').text, '$(check) Istio');
    assert.equal(statusView(parseStatus({ ...ready, errors: 0, warnings: 1 })!, '').text, '$(warning) 1 Istio');
  });
  it('says in the item and its tooltip what the server runs without (no google-re2 here)', () => {
    const notice = 'google-re2 is not available for Python 3.15 on Linux x86_64: regexes are not checked';
    const view = statusView(parseStatus({ ...ready, notice })!, 'bundled server');
    assert.equal(view.text, '$(error) 6 $(warning) 2 Istio $(info)');
    assert.match(view.tooltip, /Limited: google-re2 is not available/);
    assert.equal(statusView(parseStatus({ ...ready, notice: 3 })!, '').text, '$(error) 6 $(warning) 2 Istio');
  });
  it('rejects malformed notifications and cleans odd numbers', () => {
    assert.equal(parseStatus({ state: 'busy' }), undefined);
    assert.equal(parseStatus(null), undefined);
    assert.deepEqual(parseStatus({ state: 'ready', errors: -1, warnings: 2.7, files: 'x' }), {
      state: 'ready', done: 0, total: 0, files: 0, errors: 0, warnings: 2, findings: 0, notice: '',
    });
  });
  it('counts diagnostics by severity for servers without status notifications', () => {
    assert.deepEqual(countSeverities([0, 0, 1, 2, 3]), { errors: 2, warnings: 1, others: 2 });
    assert.equal(findingsView(0, 0, 3, '').text, '$(check) Istio');
  });
  it('marks the failure state', () => {
    const view = failedView('no Python');
    assert.equal(view.text, '$(error) Istio: server not running');
    assert.equal(view.failed, true);
    assert.equal(view.command, 'output');
  });
});

describe('rule documentation', () => {
  const docs = path.join(REPO_ROOT, 'istio_lsp', 'docs', 'rules');
  it('lists every rule page with its summary', () => {
    const rules = listRules(docs);
    assert.ok(rules.length > 20);
    const rule = rules.find((r) => r.code === 'destination-host-is-virtualservice');
    assert.ok(rule && /VirtualService/.test(rule.summary));
    assert.ok(!rules.some((r) => r.code === 'index'));
  });
  it('finds a page by code and refuses paths', () => {
    assert.ok(ruleDocFile(docs, 'subset-not-found'));
    assert.equal(ruleDocFile(docs, '../README'), undefined);
    assert.equal(ruleDocFile(docs, 'no-such-rule'), undefined);
  });
  it('package.json lists exactly the rules of istio_lsp/docs/rules', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, 'package.json'), 'utf8'));
    const listed = pkg.contributes.configuration.properties['istioLsp.disabledRules'].items.enum;
    assert.deepEqual(listed, listRules(docs).map((r) => r.code), 'run `npm run sync-rules`');
  });
});

describe('trace requests', () => {
  it('round-trips a request through the input line', () => {
    const arg = { method: 'GET', url: 'http://shop.example.com/api', via: 'istio-system/public', headers: { 'x-canary': 'true' } };
    const line = formatTraceArgument(arg);
    assert.equal(line, 'GET http://shop.example.com/api via istio-system/public; x-canary: true');
    assert.deepEqual(parseTraceArgument(line), arg);
  });
  it('keeps a Gateway API Gateway named with its prefix', () => {
    const arg = { method: 'GET', url: 'http://store.example.com/', via: 'gateway-api:shop/edge' };
    assert.equal(formatTraceArgument(arg), 'GET http://store.example.com/ via gateway-api:shop/edge');
    assert.deepEqual(parseTraceArgument(formatTraceArgument(arg)), arg);
  });
  it('reads a mesh source and lower-case methods', () => {
    assert.deepEqual(parseTraceArgument('post http://reviews:9080/ from bookstore/productpage'), {
      method: 'POST',
      url: 'http://reviews:9080/',
      from: 'bookstore/productpage',
    });
  });
  it('says what is wrong with a line it cannot read', () => {
    assert.match(String(parseTraceArgument('GET http://x/')), /METHOD URL via/);
    assert.match(String(parseTraceArgument('GET shop.example.com via a/b')), /scheme/);
    assert.match(String(parseTraceArgument('GET http://x/ via a/b; nocolon')), /name: value/);
  });
  it('takes a lens argument and shows the server answer', () => {
    assert.deepEqual(asTraceArgument({ url: 'http://a/', via: 'ns/gw' }), { method: 'GET', url: 'http://a/', headers: undefined, via: 'ns/gw', from: undefined });
    assert.equal(asTraceArgument('nope'), undefined);
    assert.equal(traceMarkdown({ markdown: '### ✓ routed' }), '### ✓ routed');
    assert.match(traceMarkdown(undefined), /Cannot trace/);
  });
});

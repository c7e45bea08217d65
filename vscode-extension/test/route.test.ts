import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { describe, it } from 'node:test';
import { Route, RouteInputs, ServerRoute, findExecutable, resolveRoute } from '../src/route';
import { LAUNCHER, VENV_PYTHON, fakePython, need, optional, pyenvPython, tempDir } from './helpers';

const py310 = pyenvPython('3.10');
const py39 = pyenvPython('3.9');
const venv = fs.existsSync(VENV_PYTHON) ? VENV_PYTHON : undefined;

/** A PATH holding only the given programs (symlinks or scripts), so the search sees nothing else. */
function pathWith(programs: Record<string, string>): string {
  const dir = tempDir();
  for (const [name, target] of Object.entries(programs)) {
    fs.symlinkSync(target, path.join(dir, name));
  }
  return dir;
}

/** A script that answers the version probe like a Python 3.9 would. */
function oldPython(dir: string, name: string): string {
  return fakePython(dir, name, `echo 'ISTIO_LSP_PROBE {"version": [3, 9, 18], "executable": "${path.join(dir, name)}", "istioLsp": null}'`);
}

function inputs(overrides: Partial<RouteInputs>): RouteInputs {
  return {
    serverPath: '',
    serverArgs: ['serve'],
    interpreter: [],
    importStrategy: 'fromEnvironment',
    launcher: LAUNCHER,
    platform: 'linux',
    env: { PATH: tempDir() },
    cwd: tempDir(),
    ...overrides,
  };
}

function ok(route: Route): ServerRoute {
  assert.notEqual(route.kind, 'error', route.kind === 'error' ? route.message : '');
  return route as ServerRoute;
}

describe('istioLsp.server.path', () => {
  it('runs an explicit executable with the configured arguments', async () => {
    const exe = fakePython(tempDir(), 'istio-lsp', 'exit 0');
    const route = ok(await resolveRoute(inputs({ serverPath: exe, serverArgs: ['serve', '--x'], interpreter: ['ignored'] })));
    assert.equal(route.kind, 'server-path');
    assert.equal(route.command, exe);
    assert.deepEqual(route.args, ['serve', '--x']);
  });

  it('finds a bare name on PATH', async () => {
    const dir = tempDir();
    const exe = fakePython(dir, 'istio-lsp', 'exit 0');
    const route = ok(await resolveRoute(inputs({ serverPath: 'istio-lsp', env: { PATH: `/nonexistent:${dir}` } })));
    assert.equal(route.command, exe);
  });

  it('names the setting when the path does not exist', async () => {
    const route = await resolveRoute(inputs({ serverPath: '/no/such/istio-lsp' }));
    assert.equal(route.kind, 'error');
    assert.equal(route.kind === 'error' && route.setting, 'istioLsp.server.path');
    assert.match(route.kind === 'error' ? route.message : '', /\/no\/such\/istio-lsp.*does not exist/);
  });

  it('does not take a non-executable file', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'istio-lsp'), '');
    assert.equal(findExecutable('istio-lsp', { PATH: dir }, 'linux'), undefined);
  });
});

describe('istioLsp.interpreter', () => {
  it('runs the bundled server with a Python 3.10 that lacks istio_lsp', { skip: need(py310, 'Python 3.10') }, async () => {
    const route = ok(await resolveRoute(inputs({ interpreter: [py310!] })));
    assert.equal(route.kind, 'bundled');
    assert.equal(route.source, 'setting');
    assert.deepEqual(route.args, ['-I', LAUNCHER, 'serve']);
    assert.ok(fs.existsSync(route.command));
  });

  it('runs the environment own istio_lsp when installed (fromEnvironment)', { skip: need(venv, '.venv') }, async () => {
    const route = ok(await resolveRoute(inputs({ interpreter: [venv!] })));
    assert.equal(route.kind, 'environment');
    assert.deepEqual(route.args, ['-m', 'istio_lsp', 'serve']);
    assert.equal(route.command, venv);
  });

  it('uses the bundled copy with that interpreter when told to (useBundled)', { skip: need(venv, '.venv') }, async () => {
    const route = ok(await resolveRoute(inputs({ interpreter: [venv!], importStrategy: 'useBundled' })));
    assert.equal(route.kind, 'bundled');
    assert.equal(route.command, venv);
  });

  it('refuses a too-old explicit interpreter instead of picking another one', { skip: need(py310, 'Python 3.10') }, async () => {
    const old = oldPython(tempDir(), 'python3.9');
    const route = await resolveRoute(inputs({ interpreter: [old], env: { PATH: pathWith({ python3: py310! }) } }));
    assert.equal(route.kind, 'error');
    assert.equal(route.kind === 'error' && route.setting, 'istioLsp.interpreter');
    assert.match(route.kind === 'error' ? route.message : '', /which is Python 3\.9\.18; istio-lsp needs Python 3\.10 or newer/);
  });

  it('says when the configured interpreter cannot be run', async () => {
    const route = await resolveRoute(inputs({ interpreter: ['/no/such/python'] }));
    assert.equal(route.kind, 'error');
    assert.match(route.kind === 'error' ? route.message : '', /\/no\/such\/python, which cannot be run \(not found\)/);
  });
});

describe('the Python extension interpreter', () => {
  it('is used when no setting is given', { skip: need(py310, 'Python 3.10') }, async () => {
    const route = ok(await resolveRoute(inputs({ pythonExtensionInterpreter: [py310!] })));
    assert.equal(route.source, 'python-extension');
  });

  it('loses to istioLsp.interpreter', { skip: need(venv && py310, 'Python 3.10 and .venv') }, async () => {
    const route = ok(await resolveRoute(inputs({ interpreter: [py310!], pythonExtensionInterpreter: [venv!] })));
    assert.equal(route.source, 'setting');
  });

  it('falls back to PATH when it is too old', { skip: optional(py39, 'Python 3.9') ?? need(py310, 'Python 3.10') }, async () => {
    const env = { PATH: pathWith({ python3: py310! }) };
    const route = ok(await resolveRoute(inputs({ pythonExtensionInterpreter: [py39!], env })));
    assert.equal(route.kind, 'bundled');
    assert.equal(route.source, 'path');
    assert.ok(route.log.some((line) => /too old/.test(line)));
  });
});

describe('PATH search', () => {
  it('skips an old python3 and takes python', { skip: need(py310, 'Python 3.10') }, async () => {
    const dir = tempDir();
    fakePython(dir, 'python3', `echo 'ISTIO_LSP_PROBE {"version": [3, 8, 18], "executable": "/old", "istioLsp": null}'`);
    fs.symlinkSync(py310!, path.join(dir, 'python'));
    const route = ok(await resolveRoute(inputs({ env: { PATH: dir } })));
    assert.equal(route.kind, 'bundled');
    assert.equal(route.python?.version[1], 10);
    assert.ok(route.log.some((line) => line.includes('python3: Python 3.8.18 (too old')));
  });

  it('does not run the environment istio_lsp of a PATH Python', { skip: need(venv, '.venv') }, async () => {
    const route = ok(await resolveRoute(inputs({ env: { PATH: pathWith({ python3: venv! }) } })));
    assert.equal(route.kind, 'bundled');
  });

  it('explains what it tried when no Python fits', async () => {
    const dir = tempDir();
    oldPython(dir, 'python3');
    const route = await resolveRoute(inputs({ env: { PATH: dir } }));
    assert.equal(route.kind, 'error');
    const message = route.kind === 'error' ? route.message : '';
    assert.match(message, /needs Python 3\.10 or newer/);
    assert.match(message, /python3: Python 3\.9\.18 \(too old/);
    assert.match(message, /python: not found/);
    assert.match(message, /istioLsp\.interpreter/);
  });

  it("finds this machine's python3 as VS Code would (inherited PATH)", async () => {
    const route = ok(await resolveRoute(inputs({ env: process.env })));
    assert.equal(route.kind, 'bundled');
  });
});

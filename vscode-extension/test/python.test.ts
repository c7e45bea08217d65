import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { describe, it } from 'node:test';
import {
  formatCommand,
  interpreterCommand,
  isSupported,
  parseProbeOutput,
  pathCandidates,
  probePython,
  substituteVariables,
} from '../src/python';
import { VENV_PYTHON, fakePython, need, optional, pyenvPython, tempDir } from './helpers';

const py310 = pyenvPython('3.10');
const py39 = pyenvPython('3.9');
const py27 = pyenvPython('2.7');
const venv = fs.existsSync(VENV_PYTHON) ? VENV_PYTHON : undefined;

describe('parseProbeOutput', () => {
  it('reads the marked line among other output', () => {
    const out = 'banner\nISTIO_LSP_PROBE {"version": [3, 12, 1], "executable": "/x/python", "istioLsp": "0.2.0"}\n';
    assert.deepEqual(parseProbeOutput(out), { version: [3, 12, 1], executable: '/x/python', istioLsp: '0.2.0' });
  });
  it('rejects output without the marker, bad JSON and bad versions', () => {
    assert.equal(parseProbeOutput('Python 3.12.1\n'), undefined);
    assert.equal(parseProbeOutput('ISTIO_LSP_PROBE {not json'), undefined);
    assert.equal(parseProbeOutput('ISTIO_LSP_PROBE {"version": ["3", "12"]}'), undefined);
    assert.equal(parseProbeOutput('ISTIO_LSP_PROBE {"version": [3]}'), undefined);
  });
});

describe('isSupported', () => {
  it('accepts 3.10 and newer only', () => {
    assert.equal(isSupported([3, 10, 0]), true);
    assert.equal(isSupported([3, 13, 1]), true);
    assert.equal(isSupported([4, 0, 0]), true);
    assert.equal(isSupported([3, 9, 18]), false);
    assert.equal(isSupported([2, 7, 18]), false);
  });
});

describe('probePython (real interpreters)', () => {
  it('reports Python 3.10 without istio_lsp', { skip: need(py310, 'Python 3.10 (pyenv)') }, async () => {
    const result = await probePython([py310!], { cwd: tempDir() });
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.version.slice(0, 2), [3, 10]);
    assert.equal(result.istioLsp, null);
    assert.ok(path.isAbsolute(result.executable));
  });

  it('finds istio_lsp installed in the repository venv', { skip: need(venv, 'the repository .venv') }, async () => {
    const result = await probePython([venv!], { cwd: tempDir() });
    assert.ok(result.ok, JSON.stringify(result));
    assert.match(result.istioLsp ?? '', /^\d+\.\d+/);
  });

  it('reports the real version of an old Python', { skip: optional(py39, 'Python 3.9 (pyenv)') }, async () => {
    const result = await probePython([py39!]);
    assert.ok(result.ok);
    assert.deepEqual(result.version.slice(0, 2), [3, 9]);
    assert.equal(isSupported(result.version), false);
  });

  it('still reads Python 2.7', { skip: optional(py27, 'Python 2.7 (pyenv)') }, async () => {
    const result = await probePython([py27!]);
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.version.slice(0, 2), [2, 7]);
  });

  it('reads an interpreter that claims an old version', async () => {
    const fake = fakePython(
      tempDir(),
      'python3',
      `echo 'ISTIO_LSP_PROBE {"version": [3, 8, 10], "executable": "/opt/old/python3", "istioLsp": null}'`,
    );
    const result = await probePython([fake]);
    assert.ok(result.ok);
    assert.deepEqual(result.version, [3, 8, 10]);
    assert.equal(result.executable, '/opt/old/python3');
  });

  it('reports a missing interpreter as not found', async () => {
    const result = await probePython([path.join(tempDir(), 'no-such-python')]);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.reason, 'not-found');
  });

  it('gives up on an interpreter that hangs', async () => {
    const fake = fakePython(tempDir(), 'python3', 'exec sleep 30');
    const started = Date.now();
    const result = await probePython([fake], { timeoutMs: 500 });
    assert.equal(!result.ok && result.reason, 'timeout');
    assert.ok(Date.now() - started < 5000);
  });

  it('reports what a failing interpreter said', async () => {
    const fake = fakePython(tempDir(), 'python3', 'echo "boom: broken install" >&2; exit 3');
    const result = await probePython([fake]);
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.detail : '', /exit code 3: boom: broken install/);
  });
});

describe('commands and variables', () => {
  const ctx = { workspaceFolder: '/ws', userHome: '/home/me', env: { VENV: '/opt/venv' } };
  it('expands ${workspaceFolder}, ${userHome}, ${env:X} and ~', () => {
    assert.equal(substituteVariables('${workspaceFolder}/.venv/bin/python', ctx), '/ws/.venv/bin/python');
    assert.equal(substituteVariables('${env:VENV}/bin/python', ctx), '/opt/venv/bin/python');
    assert.equal(substituteVariables('${userHome}/py', ctx), '/home/me/py');
    assert.equal(substituteVariables('~/py', ctx), '/home/me/py');
    assert.equal(substituteVariables('${env:MISSING}x', ctx), 'x');
  });
  it('takes relative interpreter paths from the workspace folder and keeps bare names', () => {
    assert.deepEqual(interpreterCommand(['.venv/bin/python'], ctx), ['/ws/.venv/bin/python']);
    assert.deepEqual(interpreterCommand(['py', '-3.12'], ctx), ['py', '-3.12']);
    assert.deepEqual(interpreterCommand(['', '  '], ctx), []);
  });
  it('quotes arguments with spaces for the log', () => {
    assert.equal(formatCommand(['/a b/python', '-I', 'x']), '"/a b/python" -I x');
  });
  it('tries py -3 only on Windows', () => {
    assert.deepEqual(pathCandidates('linux'), [['python3'], ['python']]);
    assert.deepEqual(pathCandidates('win32'), [['python3'], ['python'], ['py', '-3']]);
  });
});

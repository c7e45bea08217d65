// scripts/bundle-server.py: its requirement logic run in real Pythons, and its refusal to build
// from a Python that lacks the server's dependencies.
import assert from 'node:assert/strict';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { describe, it } from 'node:test';
import { EXTENSION_ROOT, REPO_ROOT, VENV_PYTHON, need, pyenvPython, tempDir } from './helpers';

const SCRIPT = path.join(EXTENSION_ROOT, 'scripts', 'bundle-server.py');
const venv = fs.existsSync(VENV_PYTHON) ? VENV_PYTHON : undefined;
const py310 = pyenvPython('3.10');

/** Run `code` with the script loaded as module `b`; returns the JSON it prints. */
function inPython(python: string, code: string, ...args: string[]): unknown {
  const prelude = [
    'import importlib.util, json, sys',
    `spec = importlib.util.spec_from_file_location("b", ${JSON.stringify(SCRIPT)})`,
    'b = sys.modules["b"] = importlib.util.module_from_spec(spec); spec.loader.exec_module(b)',
  ].join('\n');
  const result = spawnSync(python, ['-I', '-B', '-c', `${prelude}\n${code}`, ...args], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout);
}

describe('bundle-server.py requirement logic', () => {
  it('reads the same dependencies from pyproject.toml with and without tomllib', { skip: need(py310 && venv, 'Python 3.10 and .venv') }, () => {
    const code = `print(json.dumps(b.project_requirements(b.Path(${JSON.stringify(REPO_ROOT)}))))`;
    const withToml = inPython(venv!, code) as string[];
    assert.ok(withToml.some((r) => r.startsWith('pygls')));
    assert.deepEqual(inPython(py310!, code), withToml);
  });

  it('evaluates markers and version specifiers', { skip: need(venv, '.venv') }, () => {
    const cases: Array<[string, Record<string, string>, string[], boolean]> = [
      ["python_version < '3.11'", { python_version: '3.10' }, [], true],
      ["python_version < '3.11'", { python_version: '3.11' }, [], false],
      ["python_version >= '3.9' and sys_platform == 'linux'", { python_version: '3.13', sys_platform: 'linux' }, [], true],
      ['sys_platform == "win32" or (python_version < "3.11")', { python_version: '3.12', sys_platform: 'linux' }, [], false],
      ["(implementation_name == 'cpython') and extra == 'orjson'", { implementation_name: 'cpython' }, [], false],
      ["(implementation_name == 'cpython') and extra == 'orjson'", { implementation_name: 'cpython' }, ['orjson'], true],
      ['extra == "test"', {}, [], false],
      ["'linux' in sys_platform", { sys_platform: 'linux2' }, [], true],
      ["platform_machine not in 'x86_64 aarch64'", { platform_machine: 'arm64' }, [], true],
    ];
    const code = 'print(json.dumps([b.evaluate_marker(m, env, frozenset(x)) for m, env, x, _ in json.loads(sys.argv[1])]))';
    assert.deepEqual(inPython(venv!, code, JSON.stringify(cases)), cases.map((c) => c[3]));

    const specs = inPython(venv!, `print(json.dumps([
      b.version_matches("2.1.1", ">=2.1,<3"), b.version_matches("3.0", ">=2.1,<3"),
      b.version_matches("2025.0.0", "==2025.0.0"), b.version_matches("23.2.1", "!=23.2.1"),
      b.version_matches("1.4.2", "~=1.4"), b.version_matches("2.0", "~=1.4"),
      b.version_matches("3.10", ">=3.9"), b.version_matches("3.10.0", "==3.10.*"),
      [b.parse_requirement(r).name for r in ["attrs (>=24.3.0)", "typing-extensions >= 4.6.0; python_version < '3.13'", "cattrs[orjson]!=23.2.1"]],
    ]))`);
    assert.deepEqual(specs, [true, false, true, false, true, false, true, true, ['attrs', 'typing-extensions', 'cattrs']]);
  });
});

describe('bundle-server.py pins', () => {
  it('reads exact pins only', { skip: need(venv, '.venv') }, () => {
    const dir = tempDir();
    const good = path.join(dir, 'good.txt');
    const bad = path.join(dir, 'bad.txt');
    fs.writeFileSync(good, '# comment\nPyYAML==6.0.4\ntyping_extensions == 4.16.0  # why\n');
    fs.writeFileSync(bad, 'pygls>=2.1\n');
    const code = [
      'out = [b.read_pins(b.Path(sys.argv[1]))]',
      'try:\n    b.read_pins(b.Path(sys.argv[2]))\nexcept b.BundleError as e:\n    out.append(str(e))',
      'print(json.dumps(out))',
    ].join('\n');
    const [pins, error] = inPython(venv!, code, good, bad) as [Record<string, string>, string];
    assert.deepEqual(pins, { pyyaml: '6.0.4', 'typing-extensions': '4.16.0' });
    assert.match(error, /bad\.txt:1: expected `name==version`/);
  });
});

describe('bundle contents', () => {
  const libs = path.join(EXTENSION_ROOT, 'out', 'bundled', 'libs');
  it('ships compiled files named for their CPython only, all package data, licenses and BUNDLED.txt', () => {
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
          if (entry.name !== '__pycache__') walk(full);
        } else {
          files.push(path.relative(libs, full));
        }
      }
    };
    walk(libs);
    const compiled = files.filter((f) => /\.(so|pyd|dylib|dll)$/.test(f));
    assert.deepEqual(compiled.filter((f) => !/\.(cpython-3\d+-[^.]+\.so|cp3\d+-[^.]+\.pyd)$/.test(f)), []);
    assert.ok(files.includes(path.join('istio_lsp', 'docs', 'rules', 'subset-not-found.md')));
    assert.ok(files.some((f) => f.startsWith(path.join('istio_lsp', 'schemas')) && f.endsWith('.json')));
    const listed = fs.readFileSync(path.join(libs, 'BUNDLED.txt'), 'utf8');
    const names = ['istio-lsp', 'pygls', 'lsprotocol', 'cattrs', 'attrs', 'pyyaml', 'pathspec', 'typing-extensions', 'exceptiongroup', 'google-re2'];
    for (const name of names) {
      assert.match(listed, new RegExp(`^${name}==\\S+$`, 'm'), name);
    }
    if (/^target: (linux|darwin|win32)-/m.test(listed)) {
      assert.match(listed, /^native: google-re2 3\.10 3\.11 3\.12 3\.13 3\.14$/m);
    }
    const distInfos = fs.readdirSync(libs).filter((n) => n.endsWith('.dist-info'));
    assert.equal(distInfos.length, listed.split('\n').filter((l) => /^\S+==/.test(l)).length);
    for (const info of distInfos) {
      const inside = fs.readdirSync(path.join(libs, info), { recursive: true }) as string[];
      assert.ok(inside.some((f) => /licen[cs]e/i.test(f)), `${info} has no license file`);
    }
  });
});

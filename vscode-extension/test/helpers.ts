// Shared by the tests: where the real interpreters of this machine live.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const EXTENSION_ROOT = path.join(__dirname, '..', '..');
export const REPO_ROOT = path.join(EXTENSION_ROOT, '..');
/** The tests' copy of bundled/launch.py, next to their own bundle (out/bundled/libs, see scripts/build.js). */
export const LAUNCHER = path.join(EXTENSION_ROOT, 'out', 'bundled', 'launch.py');
export const BUNDLE = path.join(EXTENSION_ROOT, 'out', 'bundled', 'libs');
export const VENV_PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');

/** A pyenv interpreter by version prefix ("3.10"), if installed. */
export function pyenvPython(prefix: string): string | undefined {
  const root = path.join(process.env.PYENV_ROOT ?? path.join(os.homedir(), '.pyenv'), 'versions');
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return undefined;
  }
  const name = names.filter((n) => n === prefix || n.startsWith(`${prefix}.`)).sort().pop();
  const exe = name ? path.join(root, name, 'bin', 'python') : undefined;
  return exe && fs.existsSync(exe) ? exe : undefined;
}

/**
 * Skip reason for a missing interpreter: undefined (run) when present. In CI (env CI set) a missing
 * interpreter is a failure, not a skip, so the test cannot pass by not running.
 */
export function need(exe: string | undefined, what: string): string | undefined {
  if (exe !== undefined) {
    return undefined;
  }
  if (process.env.CI) {
    throw new Error(`${what} is required in CI but not installed`);
  }
  return `${what} is not installed here`;
}

/** Skip reason for an interpreter that only adds coverage (old Pythons): skipped, even in CI, when absent. */
export function optional(exe: string | undefined, what: string): string | undefined {
  return exe === undefined ? `${what} is not installed here (optional)` : undefined;
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'istio-lsp-ext-test-'));
}

/** A shell script posing as a Python: prints what `body` says. */
export function fakePython(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

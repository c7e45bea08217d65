// Finding out what a Python interpreter is, by running it. No 'vscode' import: unit-tested with node --test.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const MIN_PYTHON: readonly [number, number] = [3, 10];

// Written in Python 2 compatible syntax so that old interpreters still report their version.
// find_spec before import: a stray `istio_lsp` folder without pygls must not count as installed.
export const PROBE_SCRIPT = [
  'import sys, json',
  'r = {"version": list(sys.version_info[:3]), "executable": sys.executable, "istioLsp": None}',
  'try:',
  '    import importlib.util as u',
  '    if u.find_spec("istio_lsp") and u.find_spec("pygls"):',
  '        import istio_lsp',
  '        r["istioLsp"] = getattr(istio_lsp, "__version__", "unknown")',
  'except Exception:',
  '    pass',
  'sys.stdout.write("ISTIO_LSP_PROBE " + json.dumps(r) + "\\n")',
].join('\n');

const PROBE_MARK = 'ISTIO_LSP_PROBE ';

export interface PythonInfo {
  /** the command as configured or searched, e.g. ["py", "-3"] */
  command: string[];
  /** sys.executable: what the server is started with */
  executable: string;
  version: [number, number, number];
  /** istio_lsp.__version__ when istio_lsp and pygls are importable there, else null */
  istioLsp: string | null;
}

export type ProbeResult =
  | ({ ok: true } & PythonInfo)
  | { ok: false; command: string[]; reason: 'not-found' | 'timeout' | 'failed'; detail: string };

export interface ProbeOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Parse the probe's stdout. Tolerates noise before or after the marked line (sitecustomize prints, banners). */
export function parseProbeOutput(stdout: string): Omit<PythonInfo, 'command'> | undefined {
  const line = stdout.split(/\r?\n/).find((l) => l.startsWith(PROBE_MARK));
  if (line === undefined) {
    return undefined;
  }
  let data: unknown;
  try {
    data = JSON.parse(line.slice(PROBE_MARK.length));
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) {
    return undefined;
  }
  const record = data as Record<string, unknown>;
  const version = record.version;
  if (!Array.isArray(version) || version.length < 2 || !version.every((n) => Number.isInteger(n))) {
    return undefined;
  }
  const [major, minor, micro = 0] = version as number[];
  return {
    executable: typeof record.executable === 'string' ? record.executable : '',
    version: [major, minor, micro],
    istioLsp: typeof record.istioLsp === 'string' ? record.istioLsp : null,
  };
}

export function isSupported(version: readonly number[]): boolean {
  const [major, minor] = version;
  return major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]);
}

export function formatVersion(version: readonly number[]): string {
  return version.join('.');
}

export function formatCommand(command: readonly string[]): string {
  return command.map((part) => (/[\s"']/.test(part) || part === '' ? JSON.stringify(part) : part)).join(' ');
}

/** Run `<command> -c PROBE_SCRIPT` and report what it is; never throws. */
export function probePython(command: readonly string[], options: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const cmd = [...command];
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        resolve(result);
      }
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(cmd[0], [...cmd.slice(1), '-c', PROBE_SCRIPT], {
        cwd: options.cwd && fs.existsSync(options.cwd) ? options.cwd : undefined,
        env: options.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
      });
    } catch (error) {
      resolve({ ok: false, command: cmd, reason: 'failed', detail: String(error) });
      return;
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ ok: false, command: cmd, reason: 'timeout', detail: `no answer within ${timeoutMs / 1000} s` });
    }, timeoutMs);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'ENOENT' ? 'not-found' : 'failed';
      finish({ ok: false, command: cmd, reason, detail: reason === 'not-found' ? 'not found' : error.message });
    });
    child.on('close', (code, signal) => {
      const info = parseProbeOutput(stdout);
      if (info !== undefined) {
        finish({ ok: true, command: cmd, ...info, executable: info.executable || cmd[0] });
        return;
      }
      const said = (stderr.trim() || stdout.trim()).split(/\r?\n/).slice(-3).join(' | ');
      const how = signal ? `killed by ${signal}` : `exit code ${code}`;
      finish({ ok: false, command: cmd, reason: 'failed', detail: `${how}${said ? `: ${said}` : ''}` });
    });
  });
}

/** The Pythons tried when nothing is configured, in order. */
export function pathCandidates(platform: NodeJS.Platform): string[][] {
  const candidates = [['python3'], ['python']];
  if (platform === 'win32') {
    candidates.push(['py', '-3']);
  }
  return candidates;
}

export interface SubstitutionContext {
  workspaceFolder?: string;
  userHome: string;
  env: NodeJS.ProcessEnv;
}

/** Expand ${workspaceFolder}, ${userHome}, ${env:NAME} and a leading ~ like VS Code's own settings do. */
export function substituteVariables(value: string, ctx: SubstitutionContext): string {
  let result = value.replace(/\$\{(workspaceFolder|userHome|env:([^}]+))\}/g, (whole, name: string, envName?: string) => {
    if (envName !== undefined) {
      return ctx.env[envName] ?? '';
    }
    if (name === 'userHome') {
      return ctx.userHome;
    }
    return ctx.workspaceFolder ?? whole;
  });
  if (result === '~' || result.startsWith('~/') || result.startsWith('~\\')) {
    result = ctx.userHome + result.slice(1);
  }
  return result;
}

/** Settings value of istioLsp.interpreter → command; relative paths are taken from the workspace folder. */
export function interpreterCommand(setting: readonly string[], ctx: SubstitutionContext): string[] {
  const parts = setting.filter((p) => typeof p === 'string' && p.trim() !== '').map((p) => substituteVariables(p, ctx));
  if (parts.length === 0) {
    return [];
  }
  const [exe, ...rest] = parts;
  const looksLikePath = exe.includes('/') || exe.includes('\\');
  const resolved = looksLikePath && !path.isAbsolute(exe) && ctx.workspaceFolder ? path.join(ctx.workspaceFolder, exe) : exe;
  return [resolved, ...rest];
}

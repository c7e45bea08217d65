// Which command starts the server. No 'vscode' import: unit-tested with node --test against real Pythons.
import * as fs from 'fs';
import * as path from 'path';
import {
  MIN_PYTHON,
  ProbeOptions,
  ProbeResult,
  PythonInfo,
  formatCommand,
  formatVersion,
  isSupported,
  pathCandidates,
  probePython,
} from './python';

export type ImportStrategy = 'fromEnvironment' | 'useBundled';
export type InterpreterSource = 'setting' | 'python-extension';

export interface RouteInputs {
  /** istioLsp.server.path, variables already expanded; '' when unset */
  serverPath: string;
  serverArgs: string[];
  /** istioLsp.interpreter, expanded; [] when unset */
  interpreter: string[];
  /** the Python extension's active interpreter for the workspace, if that extension answered */
  pythonExtensionInterpreter?: string[];
  importStrategy: ImportStrategy;
  /** absolute path of bundled/launch.py */
  launcher: string;
  platform: NodeJS.Platform;
  /** PATH lookups for istioLsp.server.path use this environment */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  probeTimeoutMs?: number;
}

export type RouteKind = 'server-path' | 'environment' | 'bundled';

export interface ServerRoute {
  kind: RouteKind;
  command: string;
  args: string[];
  /** one line for the output channel and the status tooltip */
  summary: string;
  python?: PythonInfo;
  /** how the interpreter was chosen */
  source?: InterpreterSource | 'path';
  /** the decisions taken, for the output channel */
  log: string[];
}

export interface RouteError {
  kind: 'error';
  message: string;
  /** the setting that would fix it, for an "Open Settings" button */
  setting: string;
  log: string[];
}

export type Route = ServerRoute | RouteError;

type Probe = (command: readonly string[], options: ProbeOptions) => Promise<ProbeResult>;

const SETTING_PATH = 'istioLsp.server.path';
const SETTING_INTERPRETER = 'istioLsp.interpreter';
const MIN = formatVersion(MIN_PYTHON);

/** Look a program up like a shell would: a path is checked as is, a bare name on PATH (with PATHEXT on Windows). */
export function findExecutable(name: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string | undefined {
  const isFile = (candidate: string): boolean => {
    try {
      const stat = fs.statSync(candidate);
      if (!stat.isFile()) {
        return false;
      }
      if (platform !== 'win32') {
        fs.accessSync(candidate, fs.constants.X_OK);
      }
      return true;
    } catch {
      return false;
    }
  };
  const extensions =
    platform === 'win32' ? ['', ...(env.PATHEXT ?? '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean)] : [''];
  if (name.includes('/') || (platform === 'win32' && name.includes('\\'))) {
    return extensions.map((ext) => name + ext).find(isFile);
  }
  const pathVar = env.PATH ?? env.Path ?? '';
  const separator = platform === 'win32' ? ';' : ':';
  for (const dir of pathVar.split(separator).filter(Boolean)) {
    const found = extensions.map((ext) => path.join(dir, name + ext)).find(isFile);
    if (found) {
      return found;
    }
  }
  return undefined;
}

function describeFailure(result: ProbeResult): string {
  if (result.ok) {
    return `${formatCommand(result.command)}: Python ${formatVersion(result.version)} (too old, needs ${MIN}+)`;
  }
  return `${formatCommand(result.command)}: ${result.detail}`;
}

function bundledRoute(inputs: RouteInputs, python: PythonInfo, source: ServerRoute['source'], log: string[]): ServerRoute {
  const args = ['-I', inputs.launcher, 'serve'];
  log.push(`using the bundled server (${path.dirname(inputs.launcher)}) with Python ${formatVersion(python.version)}`);
  return {
    kind: 'bundled',
    command: python.executable,
    args,
    python,
    source,
    summary: `bundled server, Python ${formatVersion(python.version)} (${python.executable})`,
    log,
  };
}

/**
 * Decide how to start the server, in the order users expect:
 * 1. istioLsp.server.path; 2. istioLsp.interpreter, else the Python extension's interpreter, running its own
 * istio_lsp when importable; 3. the bundled server with the first Python >= 3.10 on PATH; 4. an error.
 */
export async function resolveRoute(inputs: RouteInputs, probe: Probe = probePython): Promise<Route> {
  const log: string[] = [];
  const probeOptions: ProbeOptions = { cwd: inputs.cwd, env: inputs.env, timeoutMs: inputs.probeTimeoutMs };

  if (inputs.serverPath.trim() !== '') {
    const wanted = inputs.serverPath.trim();
    const found = findExecutable(wanted, inputs.env, inputs.platform);
    if (found === undefined) {
      const where = wanted.includes('/') || wanted.includes('\\') ? 'does not exist or is not executable' : 'is not on PATH';
      return {
        kind: 'error',
        message: `${SETTING_PATH} is set to "${wanted}", which ${where}. Fix the path, or clear the setting to use Python.`,
        setting: SETTING_PATH,
        log: [...log, `${SETTING_PATH} = ${wanted}: ${where}`],
      };
    }
    log.push(`${SETTING_PATH} is set: ${found}`);
    return {
      kind: 'server-path',
      command: found,
      args: inputs.serverArgs,
      summary: `${found} (from ${SETTING_PATH})`,
      log,
    };
  }

  const configured: Array<[InterpreterSource, string[]]> = [];
  if (inputs.interpreter.length > 0) {
    configured.push(['setting', inputs.interpreter]);
  } else if (inputs.pythonExtensionInterpreter && inputs.pythonExtensionInterpreter.length > 0) {
    configured.push(['python-extension', inputs.pythonExtensionInterpreter]);
  }
  for (const [source, command] of configured) {
    const label = source === 'setting' ? SETTING_INTERPRETER : "the Python extension's interpreter";
    const result = await probe(command, probeOptions);
    if (!result.ok || !isSupported(result.version)) {
      log.push(`${label}: ${describeFailure(result)}`);
      if (source === 'setting') {
        // An explicit choice is not silently replaced by another Python.
        const problem = result.ok
          ? `which is Python ${formatVersion(result.version)}; istio-lsp needs Python ${MIN} or newer`
          : `which cannot be run (${result.detail})`;
        return {
          kind: 'error',
          message:
            `${SETTING_INTERPRETER} is ${formatCommand(command)}, ${problem}. ` +
            'Point it at another Python, or clear it to let the extension look for one.',
          setting: SETTING_INTERPRETER,
          log,
        };
      }
      log.push('falling back to a Python on PATH');
      continue;
    }
    log.push(`${label}: ${result.executable}, Python ${formatVersion(result.version)}`);
    if (inputs.importStrategy === 'fromEnvironment' && result.istioLsp !== null) {
      log.push(`istio_lsp ${result.istioLsp} is installed there (istioLsp.importStrategy = fromEnvironment)`);
      return {
        kind: 'environment',
        command: result.executable,
        args: ['-m', 'istio_lsp', 'serve'],
        python: result,
        source,
        summary: `istio_lsp ${result.istioLsp} from ${result.executable}`,
        log,
      };
    }
    log.push(
      inputs.importStrategy === 'useBundled'
        ? 'istioLsp.importStrategy = useBundled'
        : 'istio_lsp is not installed there',
    );
    return bundledRoute(inputs, result, source, log);
  }

  const tried: string[] = [];
  for (const candidate of pathCandidates(inputs.platform)) {
    const result = await probe(candidate, probeOptions);
    if (result.ok && isSupported(result.version)) {
      log.push(`found ${formatCommand(candidate)} on PATH: ${result.executable}, Python ${formatVersion(result.version)}`);
      return bundledRoute(inputs, result, 'path', log);
    }
    tried.push(describeFailure(result));
    log.push(`PATH: ${describeFailure(result)}`);
  }
  return {
    kind: 'error',
    message:
      `istio-lsp needs Python ${MIN} or newer, and none was found (tried ${tried.join('; ')}). ` +
      `Install Python ${MIN}+ and put it on PATH, or set ${SETTING_INTERPRETER} to its path.`,
    setting: SETTING_INTERPRETER,
    log,
  };
}

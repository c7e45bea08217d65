// The Python extension's (ms-python.python) active interpreter, through its exported API.
// Every step is guarded: the extension may be missing, disabled, old, or slow to activate.
import * as vscode from 'vscode';

export const PYTHON_EXTENSION_ID = 'ms-python.python';
const ACTIVATION_TIMEOUT_MS = 15_000;

interface EnvironmentPath {
  id: string;
  path: string;
}

interface PythonEnvironmentsApi {
  getActiveEnvironmentPath?(resource?: vscode.Uri): EnvironmentPath | undefined;
  resolveEnvironment?(env: EnvironmentPath | string): Promise<{ executable?: { uri?: vscode.Uri } } | undefined>;
  onDidChangeActiveEnvironmentPath?: vscode.Event<unknown>;
}

function withTimeout<T>(promise: PromiseLike<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

async function environmentsApi(log: (line: string) => void): Promise<PythonEnvironmentsApi | undefined> {
  const extension = vscode.extensions.getExtension(PYTHON_EXTENSION_ID);
  if (extension === undefined) {
    return undefined;
  }
  try {
    const exports: unknown = extension.isActive
      ? extension.exports
      : await withTimeout(extension.activate(), ACTIVATION_TIMEOUT_MS);
    const api = (exports as { environments?: PythonEnvironmentsApi } | undefined)?.environments;
    if (api === undefined) {
      log(`${PYTHON_EXTENSION_ID} is installed but offers no environments API (not activated in time, or too old)`);
    }
    return api;
  } catch (error) {
    log(`${PYTHON_EXTENSION_ID} failed to activate: ${String(error)}`);
    return undefined;
  }
}

/** The interpreter the Python extension has selected for `resource`, as a command; undefined when unknown. */
export async function activeInterpreter(
  resource: vscode.Uri | undefined,
  log: (line: string) => void,
): Promise<string[] | undefined> {
  const api = await environmentsApi(log);
  if (api?.getActiveEnvironmentPath === undefined) {
    return undefined;
  }
  try {
    const envPath = api.getActiveEnvironmentPath(resource);
    if (envPath === undefined) {
      return undefined;
    }
    const resolved = api.resolveEnvironment ? await api.resolveEnvironment(envPath) : undefined;
    const executable = resolved?.executable?.uri?.fsPath ?? envPath.path;
    return executable ? [executable] : undefined;
  } catch (error) {
    log(`could not ask ${PYTHON_EXTENSION_ID} for its interpreter: ${String(error)}`);
    return undefined;
  }
}

/** Calls `listener` when the user picks another interpreter in the Python extension. */
export async function onInterpreterChange(
  listener: () => void,
  log: (line: string) => void,
): Promise<vscode.Disposable | undefined> {
  const api = await environmentsApi(log);
  try {
    return api?.onDidChangeActiveEnvironmentPath?.(() => listener());
  } catch {
    return undefined;
  }
}

// The bundled server, started the way the extension starts it (`python -I bundled/launch.py ...`),
// on real interpreters: the CLI on the example workspace, and an LSP session over stdio that
// exercises what the extension relies on (settings pulled through workspace/configuration,
// re-pulled on didChangeConfiguration with `settings: null`, rule pages inside the bundle).
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { after, describe, it } from 'node:test';
import { pathToFileURL, fileURLToPath } from 'url';
import {
  ConfigurationRequest,
  Diagnostic,
  DidChangeConfigurationNotification,
  InitializeRequest,
  InitializedNotification,
  MessageConnection,
  PublishDiagnosticsNotification,
  RegistrationRequest,
  ShutdownRequest,
  ExitNotification,
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-languageserver-protocol/node';
import { parseStatus } from '../src/status';
import { BUNDLE, LAUNCHER, REPO_ROOT, VENV_PYTHON, need, optional, pyenvPython, tempDir } from './helpers';

const BROKEN = path.join(REPO_ROOT, 'examples', 'broken');
const bundled = fs.existsSync(path.join(BUNDLE, 'istio_lsp', '__init__.py'));
const pythons: Array<[string, string | undefined]> = [
  ['3.10', pyenvPython('3.10')],
  ['3.11', pyenvPython('3.11')],
  ['3.13', pyenvPython('3.13')],
];

function needBundle(): string | undefined {
  if (!bundled) {
    throw new Error(`${BUNDLE} is missing: \`npm test\` builds it (scripts/build.js --tests)`);
  }
  return undefined;
}

describe('bundled launcher: istio-lsp check', () => {
  for (const [version, exe] of pythons) {
    it(`finds the 10 findings of examples/broken with Python ${version}`, { skip: needBundle() ?? need(exe, `Python ${version}`) }, () => {
      const result = spawnSync(exe!, ['-I', LAUNCHER, 'check', BROKEN], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
        env: { ...process.env, ISTIO_LSP_CACHE_DIR: '' },
        timeout: 60_000,
      });
      assert.equal(result.status, 1, result.stderr);
      assert.match(result.stdout + result.stderr, /\b10 finding\(s\)/);
    });
  }

  it('tells an old Python what it needs', { skip: needBundle() ?? optional(pyenvPython('3.9'), 'Python 3.9') }, () => {
    const result = spawnSync(pyenvPython('3.9')!, ['-I', LAUNCHER, 'check', BROKEN], { encoding: 'utf8' });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /needs Python 3\.10 or newer/);
  });
});

interface Session {
  connection: MessageConnection;
  child: ChildProcess;
  stderr: () => string;
  diagnostics: Map<string, Diagnostic[]>;
  statuses: unknown[];
  /** what the next workspace/configuration request for `istioLsp` answers */
  settings: Record<string, unknown>;
  configurationRequests: number;
}

const sessions: Session[] = [];
after(() => sessions.forEach((s) => s.child.kill()));

async function startSession(python: string): Promise<Session> {
  const child = spawn(python, ['-I', LAUNCHER, 'serve'], {
    cwd: tempDir(),
    env: { ...process.env, ISTIO_LSP_CACHE_DIR: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const session: Session = {
    connection,
    child,
    stderr: () => stderr,
    diagnostics: new Map(),
    statuses: [],
    settings: {},
    configurationRequests: 0,
  };
  sessions.push(session);
  connection.onNotification(PublishDiagnosticsNotification.type, (p) => session.diagnostics.set(p.uri, p.diagnostics));
  connection.onNotification('istioLsp/status', (p: unknown) => session.statuses.push(p));
  connection.onNotification('window/logMessage', () => undefined);
  connection.onRequest(RegistrationRequest.type, () => null);
  connection.onRequest(ConfigurationRequest.type, (params) => {
    session.configurationRequests++;
    return params.items.map((item) => (item.section === 'istioLsp' ? session.settings : null));
  });
  connection.listen();
  await connection.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(BROKEN).href,
    workspaceFolders: [{ uri: pathToFileURL(BROKEN).href, name: 'broken' }],
    capabilities: {
      workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } },
      textDocument: { publishDiagnostics: { codeDescriptionSupport: true } },
    },
    initializationOptions: { statusNotifications: true },
  });
  await connection.sendNotification(InitializedNotification.type, {});
  return session;
}

function all(session: Session): Diagnostic[] {
  return [...session.diagnostics.values()].flat();
}

async function waitFor(what: string, session: Session, predicate: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline || session.child.exitCode !== null) {
      const codes = all(session).map((d) => d.code);
      assert.fail(`timed out waiting for ${what}; diagnostics ${JSON.stringify(codes)}; stderr:\n${session.stderr()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function stopSession(session: Session): Promise<void> {
  await session.connection.sendRequest(ShutdownRequest.type);
  await session.connection.sendNotification(ExitNotification.type);
  session.connection.dispose();
}

const venv = fs.existsSync(VENV_PYTHON) ? VENV_PYTHON : undefined;
const lspPythons: Array<[string, string | undefined]> = [
  ['3.10', pythons[0][1]],
  // The venv has istio-lsp, pygls & co. installed in site-packages: the bundle must still win.
  ['the repository .venv', venv],
  ['3.13', pythons[2][1]],
];

describe('bundled launcher: LSP over stdio', () => {
  for (const [label, exe] of lspPythons) {
    it(`serves diagnostics and follows settings changes with ${label}`, { skip: needBundle() ?? need(exe, label) }, async () => {
      const session = await startSession(exe!);
      // What the extension's middleware sends when Red Hat's YAML extension validates.
      session.settings = { disabledRules: ['yaml-syntax-error'] };
      await session.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
      await waitFor('9 findings without yaml-syntax-error', session, () => {
        const codes = all(session).map((d) => d.code);
        return codes.length === 9 && !codes.includes('yaml-syntax-error');
      });
      assert.ok(session.configurationRequests >= 1);

      for (const d of all(session)) {
        assert.equal(d.source, 'istio-lsp');
        const href = d.codeDescription?.href;
        assert.ok(href !== undefined && href.startsWith('file:'), `no rule page link on ${d.code}`);
        const page = fileURLToPath(href);
        assert.ok(page.startsWith(fs.realpathSync(BUNDLE)) || page.startsWith(BUNDLE), `${page} is not in the bundle`);
        assert.ok(fs.existsSync(page), page);
        assert.equal(path.basename(page), `${d.code}.md`);
      }

      // The user turns the overlap off: the server re-pulls and reports the syntax error again.
      session.settings = { disabledRules: [] };
      await session.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
      await waitFor('10 findings', session, () => all(session).length === 10);
      assert.ok(all(session).some((d) => d.code === 'yaml-syntax-error'));

      // A rule disabled later disappears from files that were already published.
      session.settings = { disabledRules: ['subset-not-found'] };
      await session.connection.sendNotification(DidChangeConfigurationNotification.type, { settings: null });
      await waitFor('9 findings without subset-not-found', session, () => {
        const codes = all(session).map((d) => d.code);
        return codes.length === 9 && !codes.includes('subset-not-found');
      });

      // The status bar's feed (initializationOptions.statusNotifications): well-formed, and it ends
      // with the counts of what is published.
      for (const status of session.statuses) {
        assert.ok(parseStatus(status), `malformed istioLsp/status ${JSON.stringify(status)}`);
      }
      const last = () => parseStatus(session.statuses[session.statuses.length - 1]);
      await waitFor('a ready status counting 9 findings', session, () => last()?.state === 'ready' && last()?.findings === 9);
      const published = all(session);
      assert.equal(last()?.errors, published.filter((d) => d.severity === 1).length);
      assert.equal(last()?.warnings, published.filter((d) => d.severity === 2).length);
      assert.ok(session.statuses.some((s) => parseStatus(s)?.state === 'indexing'), 'no indexing status');
      await stopSession(session);
    });
  }
});

import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import {
  CloseAction,
  CloseHandlerResult,
  DidChangeConfigurationNotification,
  ErrorAction,
  ErrorHandler,
  ErrorHandlerResult,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
} from 'vscode-languageclient/node';
import { Overlap, YAML_EXTENSION_ID, asOverlapMode, overlapDisabledRules } from './overlap';
import { formatCommand, interpreterCommand, substituteVariables } from './python';
import { PYTHON_EXTENSION_ID, activeInterpreter, onInterpreterChange } from './pythonExtension';
import { ImportStrategy, Route, ServerRoute, resolveRoute } from './route';
import { listRules, ruleDocFile } from './rules';
import { effectiveSettings, stringList } from './settings';
import {
  TRACE_COMMAND,
  TraceArgument,
  asTraceArgument,
  formatTraceArgument,
  parseTraceArgument,
  traceMarkdown,
} from './trace';
import {
  ServerStatus,
  StatusView,
  countSeverities,
  failedView,
  findingsView,
  parseStatus,
  startingView,
  statusView,
} from './status';

const CLIENT_ID = 'istioLsp';
const SECTION = 'istioLsp';
const DIAGNOSTIC_SOURCE = 'istio-lsp';
const STATUS_NOTIFICATION = 'istioLsp/status';
const PYTHON_DOWNLOAD = 'https://www.python.org/downloads/';
// As vscode-languageclient's default: give up after the 5th crash within 3 minutes.
const MAX_RESTARTS = 4;
const RESTART_WINDOW_MS = 3 * 60 * 1000;
// Settings that change which process runs: the server is restarted when they change.
const ROUTE_SETTINGS = ['istioLsp.server', 'istioLsp.interpreter', 'istioLsp.importStrategy'];

class IstioLspExtension implements vscode.Disposable {
  private readonly output: vscode.OutputChannel;
  private readonly statusItem: vscode.StatusBarItem;
  private readonly disposables: vscode.Disposable[] = [];
  private client: LanguageClient | undefined;
  private route: ServerRoute | undefined;
  private overlap: Overlap | undefined;
  private serverSendsStatus = false;
  private lastStatus: ServerStatus | undefined;
  private failed = false;
  private crashes: number[] = [];
  /** serialises start/stop so that quick restarts never overlap */
  private queue: Promise<void> = Promise.resolve();
  private restartTimer: NodeJS.Timeout | undefined;
  private countTimer: NodeJS.Timeout | undefined;
  private pythonExtensionPresent: boolean;
  private lastSentSettings = '';
  private lastTrace: TraceArgument | undefined; // followed as the files change, while its view is open
  private traceRefresh: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('Istio LSP');
    this.statusItem = vscode.window.createStatusBarItem('istioLsp.status', vscode.StatusBarAlignment.Left, 0);
    this.statusItem.name = 'Istio LSP';
    this.pythonExtensionPresent = vscode.extensions.getExtension(PYTHON_EXTENSION_ID) !== undefined;
    this.disposables.push(this.output, this.statusItem);
  }

  activate(): void {
    const register = (id: string, run: () => unknown): void => {
      this.disposables.push(vscode.commands.registerCommand(id, run));
    };
    register('istioLsp.restartServer', () => this.restart('restart requested'));
    register('istioLsp.showOutput', () => this.output.show(true));
    register('istioLsp.openRuleDocumentation', () => this.openRuleDocumentation());
    register('istioLsp.statusClicked', () => this.statusClicked());
    register('istioLsp.traceRequest', () => this.traceRequest());
    // the server publishes diagnostics after each analysis: the moment to trace the last request again
    this.disposables.push(vscode.languages.onDidChangeDiagnostics(() => this.traceSoon()));

    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (ROUTE_SETTINGS.some((section) => event.affectsConfiguration(section))) {
          this.scheduleRestart('server settings changed');
        } else if (event.affectsConfiguration('yaml') || event.affectsConfiguration('istioLsp.yamlExtensionOverlap')) {
          this.overlapInputsChanged();
        }
      }),
      vscode.extensions.onDidChange(() => {
        this.overlapInputsChanged();
        const present = vscode.extensions.getExtension(PYTHON_EXTENSION_ID) !== undefined;
        if (present !== this.pythonExtensionPresent) {
          this.pythonExtensionPresent = present;
          if (this.route?.source !== 'setting' && this.route?.kind !== 'server-path') {
            this.scheduleRestart(`${PYTHON_EXTENSION_ID} was ${present ? 'installed' : 'removed'}`);
          }
        }
      }),
      // Publishing a large workspace fires this once per file: count at most every 250 ms.
      vscode.languages.onDidChangeDiagnostics(() => this.scheduleCount(250)),
    );
    void onInterpreterChange(() => {
      if (this.route?.source === 'python-extension' || this.route?.source === 'path') {
        this.scheduleRestart('the Python extension selected another interpreter');
      }
    }, (line) => this.log(line)).then((disposable) => disposable && this.disposables.push(disposable));

    void this.enqueue(() => this.start());
  }

  async dispose(): Promise<void> {
    clearTimeout(this.restartTimer);
    clearTimeout(this.countTimer);
    await this.enqueue(() => this.stop());
    this.disposables.forEach((d) => d.dispose());
  }

  // ---- starting and stopping -------------------------------------------------------------

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(step, step).catch((error: unknown) => this.log(`unexpected error: ${String(error)}`));
    return this.queue;
  }

  private scheduleRestart(reason: string): void {
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart(reason), 300);
  }

  private restart(reason: string): Promise<void> {
    this.log(`restarting the server: ${reason}`);
    return this.enqueue(async () => {
      await this.stop();
      await this.start();
    });
  }

  private async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      try {
        await client.dispose(3000);
      } catch (error) {
        this.log(`stopping the server: ${String(error)}`);
      }
    }
  }

  private async start(): Promise<void> {
    this.failed = false;
    this.crashes = [];
    this.serverSendsStatus = false;
    this.lastStatus = undefined;
    this.show(startingView());

    const route = await this.resolveRoute();
    for (const line of route.log) {
      this.log(line);
    }
    if (route.kind === 'error') {
      this.route = undefined;
      this.reportNoServer(route.message, route.setting);
      return;
    }
    this.route = route;
    this.log(`starting: ${formatCommand([route.command, ...route.args])}`);

    const client = this.createClient(route);
    this.client = client;
    try {
      await client.start();
    } catch (error) {
      // vscode-languageclient has already shown "couldn't create connection" with a button to the output.
      if (this.client === client) {
        this.setFailed(`The server did not start: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  private async resolveRoute(): Promise<Route> {
    const config = vscode.workspace.getConfiguration(SECTION);
    const folder = vscode.workspace.workspaceFolders?.[0];
    const ctx = { workspaceFolder: folder?.uri.fsPath, userHome: os.homedir(), env: process.env };
    const interpreter = interpreterCommand(stringList(config.get('interpreter')), ctx);
    const serverPath = substituteVariables(config.get<string>('server.path') ?? '', ctx);
    const serverArgs = config.get<unknown>('server.args');
    const strategy: ImportStrategy = config.get('importStrategy') === 'useBundled' ? 'useBundled' : 'fromEnvironment';
    const fromPythonExtension =
      serverPath.trim() === '' && interpreter.length === 0
        ? await activeInterpreter(folder?.uri, (line) => this.log(line))
        : undefined;
    return resolveRoute({
      serverPath,
      serverArgs: Array.isArray(serverArgs) ? stringList(serverArgs) : ['serve'],
      interpreter,
      pythonExtensionInterpreter: fromPythonExtension,
      importStrategy: strategy,
      launcher: this.context.asAbsolutePath(path.join('bundled', 'launch.py')),
      platform: process.platform,
      env: process.env,
      cwd: ctx.workspaceFolder,
    });
  }

  private createClient(route: ServerRoute): LanguageClient {
    let synced = false;
    const serverOptions: ServerOptions = {
      command: route.command,
      args: route.args,
      options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath, env: process.env },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file', language: 'yaml' }],
      outputChannel: this.output,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      // a function: restarts after a crash send the settings of that moment
      initializationOptions: () => ({ ...this.serverSettings(), statusNotifications: true }),
      synchronize: { configurationSection: SECTION },
      errorHandler: this.errorHandler(),
      middleware: {
        // The server's istioLsp.trace (also behind the "Trace a request…" code lens) returns Markdown:
        // ask for the request (prefilled with the lens's), then show the answer beside the editor.
        executeCommand: async (command, args, next) => {
          if (command !== TRACE_COMMAND) {
            return next(command, args);
          }
          const argument = await this.askTrace(asTraceArgument(args[0]));
          if (argument === undefined) {
            return undefined;
          }
          const result = await next(command, [argument]);
          this.lastTrace = argument;
          await this.showTrace(traceMarkdown(result), true);
          return result;
        },
        workspace: {
          // The server pulls `istioLsp`; answer with the effective settings (overlap rules merged in).
          configuration: async (params, token, next) => {
            const result = await next(params, token);
            if (!Array.isArray(result)) {
              return result;
            }
            return result.map((value: unknown, i) => {
              if (params.items[i]?.section !== SECTION) {
                return value;
              }
              const settings = effectiveSettings(value, this.currentOverlap().rules);
              const text = JSON.stringify(settings);
              if (text !== this.lastSentSettings) {
                this.lastSentSettings = text;
                this.log(`settings for the server: ${text}`);
              }
              return settings;
            });
          },
          // Push nothing: `settings: null` makes the server pull, through the middleware above.
          didChangeConfiguration: (_sections, next) => {
            if (synced) {
              this.log('istioLsp settings changed; the server re-reads them');
            }
            synced = true; // the first call is the client's initial sync, not a change
            return next(undefined);
          },
        },
      },
    };
    const client = new LanguageClient(CLIENT_ID, 'Istio LSP', serverOptions, clientOptions);
    client.onNotification(STATUS_NOTIFICATION, (params: unknown) => {
      const status = parseStatus(params);
      if (status !== undefined && this.client === client) {
        this.serverSendsStatus = true;
        this.lastStatus = status;
        this.show(statusView(status, this.route?.summary ?? ''));
      }
    });
    client.onDidChangeState((event) => {
      if (this.client !== client) {
        return;
      }
      if (event.newState === State.Running) {
        this.log(`server running (${this.route?.summary ?? ''})`);
        // Servers without istioLsp/status: show the diagnostic count once they had time to publish.
        this.scheduleCount(2000);
      } else if (event.newState === State.Starting && !this.failed) {
        synced = false; // restarted after a crash: its first sync is again not a change
        this.show(startingView());
      } else if (event.newState === State.Stopped && this.failed) {
        this.show(failedView('The server stopped. See the output for details.'));
      }
    });
    return client;
  }

  private errorHandler(): ErrorHandler {
    return {
      error: (_error, _message, count): ErrorHandlerResult =>
        count !== undefined && count <= 3 ? { action: ErrorAction.Continue } : { action: ErrorAction.Shutdown },
      closed: (): CloseHandlerResult => {
        if (this.client?.state !== State.Running) {
          // It died while starting: restarting will not help, and start() reports it.
          this.failed = true;
          return { action: CloseAction.DoNotRestart, handled: true, message: 'The server exited while starting.' };
        }
        const now = Date.now();
        this.crashes = [...this.crashes.filter((t) => now - t < RESTART_WINDOW_MS), now];
        if (this.crashes.length <= MAX_RESTARTS) {
          this.log(`the server stopped unexpectedly; restarting it (${this.crashes.length} of ${MAX_RESTARTS})`);
          return { action: CloseAction.Restart, handled: true };
        }
        const message = `The istio-lsp server crashed ${this.crashes.length} times in 3 minutes and was not restarted.`;
        this.setFailed(message);
        void vscode.window.showErrorMessage(message, 'Show Output', 'Restart Server').then((choice) => {
          if (choice === 'Show Output') {
            this.output.show(true);
          } else if (choice === 'Restart Server') {
            void this.restart('restart requested after crashes');
          }
        });
        return { action: CloseAction.DoNotRestart, handled: true };
      },
    };
  }

  // ---- settings and the YAML extension ------------------------------------------------------

  private currentOverlap(): Overlap {
    const yaml = vscode.workspace.getConfiguration('yaml');
    const overlap = overlapDisabledRules(
      asOverlapMode(vscode.workspace.getConfiguration(SECTION).get('yamlExtensionOverlap')),
      {
        installed: vscode.extensions.getExtension(YAML_EXTENSION_ID) !== undefined,
        validate: yaml.get('validate'),
        schemas: yaml.get('schemas'),
      },
    );
    const previous = this.overlap;
    if (previous === undefined || previous.rules.join() !== overlap.rules.join() || previous.reason !== overlap.reason) {
      const rules = overlap.rules.length > 0 ? `leaving ${overlap.rules.join(', ')} to it` : 'reporting everything';
      this.log(`YAML extension overlap: ${overlap.reason}; ${rules}`);
    }
    this.overlap = overlap;
    return overlap;
  }

  private serverSettings(): Record<string, unknown> {
    return effectiveSettings(vscode.workspace.getConfiguration().get(SECTION), this.currentOverlap().rules);
  }

  private overlapInputsChanged(): void {
    const before = this.overlap?.rules.join();
    if (this.currentOverlap().rules.join() === before) {
      return;
    }
    const client = this.client;
    if (client?.state === State.Running) {
      // The server answers by pulling `istioLsp` again, which goes through the configuration middleware.
      client.sendNotification(DidChangeConfigurationNotification.type, { settings: null }).catch((error: unknown) => {
        this.log(`could not notify the server of the settings change: ${String(error)}`);
      });
    }
  }

  // ---- status bar ------------------------------------------------------------------------

  private show(view: StatusView): void {
    this.statusItem.text = view.text;
    this.statusItem.tooltip = view.tooltip;
    this.statusItem.command = 'istioLsp.statusClicked';
    this.statusItem.backgroundColor = view.failed ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.statusItem.show();
  }

  private statusClicked(): void {
    const opensProblems = !this.failed && this.client?.state === State.Running && !this.lastStatusIsIndexing();
    if (opensProblems) {
      void vscode.commands.executeCommand('workbench.actions.view.problems');
    } else {
      this.output.show(true);
    }
  }

  private lastStatusIsIndexing(): boolean {
    return this.lastStatus?.state === 'indexing';
  }

  private setFailed(reason: string): void {
    this.failed = true;
    this.log(reason);
    this.show(failedView(reason));
  }

  private scheduleCount(ms: number): void {
    if (this.countTimer === undefined && !this.serverSendsStatus) {
      this.countTimer = setTimeout(() => {
        this.countTimer = undefined;
        this.diagnosticsChanged();
      }, ms);
    }
  }

  /** For servers that send no istioLsp/status: count our diagnostics instead. */
  private diagnosticsChanged(): void {
    if (this.serverSendsStatus || this.failed || this.client?.state !== State.Running) {
      return;
    }
    const severities: number[] = [];
    let files = 0;
    for (const [, diagnostics] of vscode.languages.getDiagnostics()) {
      const ours = diagnostics.filter((d) => d.source === DIAGNOSTIC_SOURCE);
      files += ours.length > 0 ? 1 : 0;
      severities.push(...ours.map((d) => d.severity));
    }
    const { errors, warnings, others } = countSeverities(severities);
    const head = `istio-lsp: findings in ${files} file${files === 1 ? '' : 's'}\n${this.route?.summary ?? ''}`;
    this.show(findingsView(errors, warnings, others, head));
  }

  private reportNoServer(message: string, setting: string): void {
    this.setFailed(message);
    const buttons = ['Open Settings', 'Show Output', 'Get Python'];
    void vscode.window.showErrorMessage(`Istio LSP: ${message}`, ...buttons).then((choice) => {
      if (choice === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', setting);
      } else if (choice === 'Show Output') {
        this.output.show(true);
      } else if (choice === 'Get Python') {
        void vscode.env.openExternal(vscode.Uri.parse(PYTHON_DOWNLOAD));
      }
    });
  }

  // ---- rule documentation ------------------------------------------------------------------

  private bundledDocs(): string {
    return this.context.asAbsolutePath(path.join('bundled', 'libs', 'istio_lsp', 'docs', 'rules'));
  }

  /** The docs folder of the running server: known from any diagnostic's link, else the bundled copy. */
  private serverDocs(): string {
    for (const [, diagnostics] of vscode.languages.getDiagnostics()) {
      for (const d of diagnostics) {
        const target = d.source === DIAGNOSTIC_SOURCE ? codeTarget(d) : undefined;
        if (target?.scheme === 'file') {
          return path.dirname(target.fsPath);
        }
      }
    }
    return this.bundledDocs();
  }

  private async openRuleDocumentation(): Promise<void> {
    const editor = vscode.window.activeTextEditor;
    const here: Array<{ code: string; target?: vscode.Uri }> = [];
    if (editor !== undefined) {
      const position = editor.selection.active;
      for (const d of vscode.languages.getDiagnostics(editor.document.uri)) {
        const code = codeValue(d);
        if (d.source === DIAGNOSTIC_SOURCE && code !== undefined && d.range.contains(position)) {
          if (!here.some((h) => h.code === code)) {
            here.push({ code, target: codeTarget(d) });
          }
        }
      }
    }
    if (here.length === 1) {
      return this.openDoc(here[0].code, here[0].target);
    }
    const docs = this.serverDocs();
    const rules = listRules(docs).length > 0 ? listRules(docs) : listRules(this.bundledDocs());
    const pool = here.length > 1 ? rules.filter((r) => here.some((h) => h.code === r.code)) : rules;
    const picked = await vscode.window.showQuickPick(
      pool.map((rule) => ({ label: rule.code, detail: rule.summary, file: rule.file })),
      { placeHolder: 'Rule to read about', matchOnDetail: true },
    );
    if (picked !== undefined) {
      const target = here.find((h) => h.code === picked.label)?.target;
      await this.openDoc(picked.label, target ?? vscode.Uri.file(picked.file));
    }
  }

  private async openDoc(code: string, target: vscode.Uri | undefined): Promise<void> {
    let uri = target;
    if (uri === undefined || (uri.scheme === 'file' && ruleDocFile(path.dirname(uri.fsPath), code) === undefined)) {
      const file = ruleDocFile(this.serverDocs(), code) ?? ruleDocFile(this.bundledDocs(), code);
      if (file === undefined) {
        void vscode.window.showWarningMessage(`Istio LSP: no documentation found for the rule ${code}.`);
        return;
      }
      uri = vscode.Uri.file(file);
    }
    try {
      await vscode.commands.executeCommand('markdown.showPreview', uri);
    } catch {
      await vscode.window.showTextDocument(uri, { preview: true });
    }
  }

  private async traceRequest(): Promise<void> {
    try {
      await vscode.commands.executeCommand(TRACE_COMMAND, this.lastTrace ?? {});
    } catch (error) {
      void vscode.window.showWarningMessage(`Istio LSP: cannot trace: the server is not running (${String(error)}).`);
    }
  }

  private async askTrace(initial: TraceArgument | undefined): Promise<TraceArgument | undefined> {
    const typed = await vscode.window.showInputBox({
      title: 'Istio: Trace a Request',
      prompt: 'METHOD URL via NAMESPACE/GATEWAY (or from NAMESPACE/WORKLOAD); then "; name: value" for each header',
      value: initial ? formatTraceArgument(initial) : 'GET http://HOST/ from NAMESPACE/WORKLOAD',
      ignoreFocusOut: true,
      validateInput: (text) => {
        const parsed = parseTraceArgument(text);
        return typeof parsed === 'string' ? parsed : undefined;
      },
    });
    const parsed = typed === undefined ? undefined : parseTraceArgument(typed);
    return typeof parsed === 'string' ? undefined : parsed;
  }

  // The trace is written to a Markdown file of the extension's storage and previewed beside the editor;
  // rewriting the file (after an edit) updates the open preview.
  private traceFile(): vscode.Uri {
    return vscode.Uri.joinPath(this.context.globalStorageUri, 'Istio trace.md');
  }

  private async showTrace(markdown: string, reveal: boolean): Promise<void> {
    const file = this.traceFile();
    await vscode.workspace.fs.createDirectory(this.context.globalStorageUri);
    await vscode.workspace.fs.writeFile(file, Buffer.from(markdown, 'utf8'));
    if (reveal) {
      await vscode.commands.executeCommand('markdown.showPreviewToSide', file);
    }
  }

  private traceSoon(): void {
    if (this.lastTrace === undefined || this.client === undefined) {
      return;
    }
    if (this.traceRefresh !== undefined) {
      clearTimeout(this.traceRefresh);
    }
    this.traceRefresh = setTimeout(() => void this.retrace(), 400);
  }

  private async retrace(): Promise<void> {
    const client = this.client;
    const argument = this.lastTrace;
    if (client === undefined || argument === undefined || client.state !== State.Running) {
      return;
    }
    try {
      const result = await client.sendRequest('workspace/executeCommand', { command: TRACE_COMMAND, arguments: [argument] });
      await this.showTrace(traceMarkdown(result), false);
    } catch {
      // the server restarts or stops: the next diagnostics bring another chance
    }
  }

  private log(line: string): void {
    this.output.appendLine(`[istio-lsp ${new Date().toLocaleTimeString()}] ${line}`);
  }
}

function codeValue(d: vscode.Diagnostic): string | undefined {
  const code = d.code;
  if (typeof code === 'string' || typeof code === 'number') {
    return String(code);
  }
  return code === undefined ? undefined : String(code.value);
}

function codeTarget(d: vscode.Diagnostic): vscode.Uri | undefined {
  const code = d.code;
  return typeof code === 'object' && code !== null ? code.target : undefined;
}

let extension: IstioLspExtension | undefined;

export function activate(context: vscode.ExtensionContext): void {
  extension = new IstioLspExtension(context);
  extension.activate();
}

export function deactivate(): Promise<void> | undefined {
  const current = extension;
  extension = undefined;
  return current?.dispose();
}

// Status bar wording. No 'vscode' import: unit-tested with node --test.

export interface ServerStatus {
  state: 'indexing' | 'ready';
  done: number;
  total: number;
  files: number;
  errors: number;
  warnings: number;
  findings: number;
  /** what the server runs without (no google-re2 for this platform or Python), to be shown; '' when nothing */
  notice: string;
}

export interface StatusView {
  text: string;
  tooltip: string;
  /** what clicking does */
  command: 'problems' | 'output';
  /** the item is shown with the error background */
  failed?: boolean;
}

const count = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : 0;

/** Validate an istioLsp/status notification; undefined when it is not one. */
export function parseStatus(params: unknown): ServerStatus | undefined {
  if (typeof params !== 'object' || params === null) {
    return undefined;
  }
  const p = params as Record<string, unknown>;
  if (p.state !== 'indexing' && p.state !== 'ready') {
    return undefined;
  }
  return {
    state: p.state,
    done: count(p.done),
    total: count(p.total),
    files: count(p.files),
    errors: count(p.errors),
    warnings: count(p.warnings),
    findings: count(p.findings),
    notice: typeof p.notice === 'string' ? p.notice : '',
  };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function findingsView(errors: number, warnings: number, others: number, tooltipHead: string): StatusView {
  const parts: string[] = [];
  if (errors > 0) {
    parts.push(`$(error) ${errors}`);
  }
  if (warnings > 0) {
    parts.push(`$(warning) ${warnings}`);
  }
  const text = parts.length > 0 ? `${parts.join(' ')} Istio` : '$(check) Istio';
  const lines = [tooltipHead, `${plural(errors, 'error')}, ${plural(warnings, 'warning')}, ${others} other findings`];
  lines.push('Click to open the Problems panel');
  return { text, tooltip: lines.join('\n'), command: 'problems' };
}

export function statusView(status: ServerStatus, route: string): StatusView {
  if (status.state === 'indexing') {
    const progress = status.total > 0 ? ` ${status.done}/${status.total}` : '';
    return {
      text: `$(sync~spin) Istio: indexing${progress}`,
      tooltip: `istio-lsp is indexing the workspace${progress ? ` (${status.done} of ${status.total} files)` : ''}\n${route}`,
      command: 'output',
    };
  }
  const others = Math.max(0, status.findings - status.errors - status.warnings);
  const view = findingsView(status.errors, status.warnings, others, `istio-lsp: ${plural(status.files, 'file')} indexed\n${route}`);
  if (status.notice) {
    // A limited analysis is said in the item itself, not only in the output.
    return { ...view, text: `${view.text} $(info)`, tooltip: `${view.tooltip}\n\nLimited: ${status.notice}` };
  }
  return view;
}

export function startingView(): StatusView {
  return { text: '$(sync~spin) Istio: starting…', tooltip: 'istio-lsp is starting', command: 'output' };
}

export function failedView(reason: string): StatusView {
  return {
    text: '$(error) Istio: server not running',
    tooltip: `${reason}\nClick to show the output`,
    command: 'output',
    failed: true,
  };
}

/** Severity numbers as in vscode.DiagnosticSeverity: 0 error, 1 warning, 2 information, 3 hint. */
export function countSeverities(severities: Iterable<number>): { errors: number; warnings: number; others: number } {
  let errors = 0;
  let warnings = 0;
  let others = 0;
  for (const severity of severities) {
    if (severity === 0) {
      errors++;
    } else if (severity === 1) {
      warnings++;
    } else {
      others++;
    }
  }
  return { errors, warnings, others };
}

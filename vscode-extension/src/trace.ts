// "Istio: Trace a Request…": the request the user types, sent to the server's istioLsp.trace command,
// and its answer shown as Markdown beside the editor. Pure functions here; the VS Code wiring is in
// extension.ts (the code lens "Trace a request…" runs the same command with a prefilled request).

export const TRACE_COMMAND = 'istioLsp.trace';

export interface TraceArgument {
  method: string;
  url: string;
  headers?: Record<string, string>;
  via?: string;
  from?: string;
}

// `GET http://shop.example.com/api via istio-system/public-gateway; x-canary: true` (or `from ns/workload`)
export function formatTraceArgument(arg: TraceArgument): string {
  const source = arg.via ? `via ${arg.via}` : arg.from ? `from ${arg.from}` : 'from NAMESPACE/WORKLOAD';
  const headers = Object.entries(arg.headers ?? {}).map(([k, v]) => `; ${k}: ${v}`);
  return `${arg.method || 'GET'} ${arg.url} ${source}${headers.join('')}`;
}

// The typed line back to the command's argument; a string saying what is wrong when it cannot be read.
export function parseTraceArgument(text: string): TraceArgument | string {
  const [request, ...headerParts] = text.split(';');
  const words = request.trim().split(/\s+/).filter((w) => w);
  if (words.length !== 4 || !['via', 'from'].includes(words[2].toLowerCase())) {
    return 'write: METHOD URL via NAMESPACE/GATEWAY (or from NAMESPACE/WORKLOAD), then "; name: value" headers';
  }
  const [method, url, keyword, source] = words;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    return `the URL needs a scheme: http://${url}`;
  }
  const headers: Record<string, string> = {};
  for (const part of headerParts) {
    if (!part.trim()) {
      continue;
    }
    const colon = part.indexOf(':');
    if (colon <= 0) {
      return `a header is "name: value": ${part.trim()}`;
    }
    headers[part.slice(0, colon).trim()] = part.slice(colon + 1).trim();
  }
  const arg: TraceArgument = { method: method.toUpperCase(), url };
  if (Object.keys(headers).length) {
    arg.headers = headers;
  }
  if (keyword.toLowerCase() === 'via') {
    arg.via = source;
  } else {
    arg.from = source;
  }
  return arg;
}

// The argument a code lens (or another caller) gave, when it is one; else undefined.
export function asTraceArgument(value: unknown): TraceArgument | undefined {
  if (typeof value !== 'object' || value === null) {
    return undefined;
  }
  const v = value as Record<string, unknown>;
  if (typeof v.url !== 'string') {
    return undefined;
  }
  return {
    method: typeof v.method === 'string' ? v.method : 'GET',
    url: v.url,
    headers: typeof v.headers === 'object' && v.headers !== null ? (v.headers as Record<string, string>) : undefined,
    via: typeof v.via === 'string' ? v.via : undefined,
    from: typeof v.from === 'string' ? v.from : undefined,
  };
}

// The server's answer as the Markdown to show.
export function traceMarkdown(result: unknown): string {
  if (typeof result === 'object' && result !== null && typeof (result as { markdown?: unknown }).markdown === 'string') {
    return (result as { markdown: string }).markdown;
  }
  return '**Cannot trace**: the server gave no answer (is it running? see "Istio: Show Output").';
}

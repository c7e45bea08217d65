// What the server is told. No 'vscode' import: unit-tested with node --test.

/** Keys of the istioLsp section that only the extension reads; the server never sees them. */
export const EXTENSION_ONLY_KEYS: readonly string[] = [
  'server',
  'interpreter',
  'importStrategy',
  'yamlExtensionOverlap',
  'trace',
];

export function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * The user's istioLsp settings as the server should see them: extension-only keys removed and the
 * rules the YAML extension already reports added to disabledRules.
 */
export function effectiveSettings(section: unknown, overlapRules: readonly string[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  if (typeof section === 'object' && section !== null && !Array.isArray(section)) {
    for (const [key, value] of Object.entries(section as Record<string, unknown>)) {
      if (!EXTENSION_ONLY_KEYS.includes(key)) {
        result[key] = value;
      }
    }
  }
  const own = stringList(result.disabledRules);
  result.disabledRules = [...new Set([...own, ...overlapRules])];
  return result;
}

// Red Hat's YAML extension reports some of the same problems; decide which of ours to switch off.
// No 'vscode' import: unit-tested with node --test.

export type OverlapMode = 'auto' | 'reportAll' | 'leaveToYamlExtension';

export const YAML_EXTENSION_ID = 'redhat.vscode-yaml';
/** Reported by the YAML extension whenever yaml.validate is on. */
export const SYNTAX_CODES: readonly string[] = ['yaml-syntax-error'];
/** Reported by the YAML extension too when the user associates Kubernetes or Istio schemas with the files. */
export const SCHEMA_CODES: readonly string[] = [
  'unknown-field',
  'invalid-type',
  'invalid-enum-value',
  'missing-required-field',
];
/** Only we report these (the YAML extension knows no Istio API versions); never switched off here. */
export const NEVER_DROPPED: readonly string[] = ['deprecated-api-version', 'unknown-api-version'];

export interface YamlExtensionState {
  installed: boolean;
  /** the yaml.validate setting (default true) */
  validate: unknown;
  /** the yaml.schemas setting: { schema: glob | glob[] } */
  schemas: unknown;
}

export interface Overlap {
  rules: string[];
  reason: string;
}

export function asOverlapMode(value: unknown): OverlapMode {
  return value === 'reportAll' || value === 'leaveToYamlExtension' ? value : 'auto';
}

/** True when yaml.schemas maps the `kubernetes` schema, or anything Istio, onto some files. */
export function schemasCoverIstio(schemas: unknown): boolean {
  if (typeof schemas !== 'object' || schemas === null || Array.isArray(schemas)) {
    return false;
  }
  const mentionsIstio = (text: unknown): boolean => typeof text === 'string' && /istio/i.test(text);
  for (const [schema, globs] of Object.entries(schemas as Record<string, unknown>)) {
    if (schema.trim().toLowerCase() === 'kubernetes' || mentionsIstio(schema)) {
      return true;
    }
    if (mentionsIstio(globs) || (Array.isArray(globs) && globs.some(mentionsIstio))) {
      return true;
    }
  }
  return false;
}

export function overlapDisabledRules(mode: OverlapMode, yaml: YamlExtensionState): Overlap {
  if (mode === 'reportAll') {
    return { rules: [], reason: 'istioLsp.yamlExtensionOverlap = reportAll' };
  }
  if (mode === 'leaveToYamlExtension') {
    return {
      rules: [...SYNTAX_CODES, ...SCHEMA_CODES],
      reason: 'istioLsp.yamlExtensionOverlap = leaveToYamlExtension',
    };
  }
  if (!yaml.installed) {
    return { rules: [], reason: `${YAML_EXTENSION_ID} is not installed` };
  }
  if (yaml.validate === false) {
    return { rules: [], reason: `${YAML_EXTENSION_ID} is installed but yaml.validate is false` };
  }
  if (schemasCoverIstio(yaml.schemas)) {
    return {
      rules: [...SYNTAX_CODES, ...SCHEMA_CODES],
      reason: `${YAML_EXTENSION_ID} validates YAML syntax and, through yaml.schemas, Kubernetes/Istio schemas`,
    };
  }
  return { rules: [...SYNTAX_CODES], reason: `${YAML_EXTENSION_ID} validates YAML syntax` };
}

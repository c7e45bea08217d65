// The rule documentation pages shipped with the server. No 'vscode' import: unit-tested with node --test.
import * as fs from 'fs';
import * as path from 'path';

export interface RuleDoc {
  code: string;
  /** the first sentence under the title */
  summary: string;
  file: string;
}

/** Every <code>.md in a docs/rules folder (index.md excepted), sorted by code. */
export function listRules(dir: string): RuleDoc[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => name.endsWith('.md') && name !== 'index.md')
    .sort()
    .map((name) => {
      const file = path.join(dir, name);
      return { code: name.slice(0, -3), summary: summaryOf(file), file };
    });
}

function summaryOf(file: string): string {
  try {
    const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
    return lines.find((line, i) => i > 0 && line.trim() !== '' && !line.startsWith('#'))?.trim() ?? '';
  } catch {
    return '';
  }
}

/** The page for a rule code in a docs folder, if there is one. Codes are plain names, never paths. */
export function ruleDocFile(dir: string, code: string): string | undefined {
  if (!/^[a-z0-9-]+$/.test(code)) {
    return undefined;
  }
  const file = path.join(dir, `${code}.md`);
  return fs.existsSync(file) ? file : undefined;
}

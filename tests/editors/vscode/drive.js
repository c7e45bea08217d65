// Drives a real VS Code workbench (code-server) in headless Debian Chromium through playwright-core.
// code-server must already run with the istio-lsp extension installed and the workspace (a copy of
// examples/broken) as folder. Exit code 0 = every step passed.
//
// Usage: NODE_PATH=<cache>/pw/node_modules node drive.js <baseUrl>
// Env:   WS             workspace folder (a scratch copy: the quick fix edits and saves a file)
//        USER_SETTINGS  path of the profile's User/settings.json (read back after step f edits it in the UI)
//        ARTIFACTS      directory for screenshots
//        LOGS_DIR       code-server's <user-data-dir>/logs, dumped on failure
//        STEP_TIMEOUT   ms to wait for any single UI state (default 30000)
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const base = process.argv[2] || 'http://127.0.0.1:8080';
const ws = process.env.WS;
const userSettings = process.env.USER_SETTINGS;
const artifacts = process.env.ARTIFACTS || '.';
const logsDir = process.env.LOGS_DIR;
const TIMEOUT = Number(process.env.STEP_TIMEOUT || 30000);

// What the scenario expects from examples/broken.
const ROUTES = 'hello-world/routes.yaml';
const OLD_HOST = 'deployment-1.hello-world-app.svc.cluster.local';
const VS_HOST_MESSAGE = 'is only a VirtualService host';
const VS_HOST_CODE = 'destination-host-is-virtualservice';
const VS_HOST_POSITION = '[Ln 23, Col 15]';
const HOVER_TEXT = 'a routing rule, not a service'; // the server's hover on that host, not the diagnostic
const FIX_PREFIX = 'Route to `deployment-1-svc';
const NEW_HOST = 'deployment-1-svc';
const SUBSET_MESSAGE = 'Subset `stabel` is not defined'; // subset-not-found in bookstore/ratings.yaml

const t0 = Date.now();
const secs = (since) => ((Date.now() - since) / 1000).toFixed(1);
const log = (m) => console.log(`[drive ${secs(t0)}s] ${m}`);
const flat = (s) => s.replace(/\s+/g, ' ').trim();
let currentStep = 'launch';

async function step(name, fn) {
  currentStep = name;
  const s = Date.now();
  log(`${name} ...`);
  const detail = await fn();
  log(`${name}: ok in ${secs(s)}s${detail ? ' - ' + detail : ''}`);
}

function readSettings() {
  return JSON.parse(fs.readFileSync(userSettings, 'utf8'));
}

function dumpLogs() {
  if (!logsDir || !fs.existsSync(logsDir)) return;
  const files = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      // the extension host log, and our extension's output channel (exthost*/output_logging_*/N-Istio LSP.log)
      else if (/^(remote)?exthost\.log$/.test(e.name)) files.push(p);
      else if (e.name.endsWith('.log') && /istio/i.test(path.relative(logsDir, p))) files.push(p);
    }
  };
  walk(logsDir);
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    console.log(`----- ${path.relative(logsDir, f)} (${text.length} bytes, last 8000) -----`);
    console.log(text.slice(-8000));
  }
  if (!files.length) console.log(`(no extension host logs under ${logsDir})`);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => log('pageerror: ' + e.message));
  let ok = false;

  const exactly = (text) => new RegExp(`^\\s*${text.replace(/[.]/g, '\\.')}\\s*$`);
  const explorerRow = (name) => page.locator('.explorer-folders-view .monaco-list-row').filter({ hasText: exactly(name) });
  const problemRow = (text) => page.locator('.markers-panel .monaco-list-row').filter({ hasText: text });
  // Monaco renders lines in any DOM order; find one by its text (spaces are U+00A0 in the view).
  const viewLine = (text) => page.locator('.monaco-editor .view-line').filter({ hasText: text });
  const filterProblems = async (text) => {
    const input = page.locator('.part.panel input[placeholder^="Filter"]').first();
    await input.fill(text);
  };
  // The extension's status bar item: "$(error) N $(warning) M Istio" (icons render as empty glyphs).
  const istioStatus = (errors, warnings) =>
    page.locator('.statusbar-item').filter({ hasText: new RegExp(`^\\s*${errors}\\s+${warnings}\\s+Istio\\s*$`) }).first();
  const runCommand = async (title) => {
    await page.keyboard.press('Control+Shift+P');
    await page.locator('.quick-input-widget input').first().waitFor();
    await page.keyboard.type(title);
    // click the match: Enter can come before the list is filled
    const row = page.locator('.quick-input-list .monaco-list-row').filter({ hasText: title.split(': ').pop() }).first();
    await row.waitFor();
    await row.click();
  };
  const until = async (check, what) => {
    const deadline = Date.now() + TIMEOUT;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await page.waitForTimeout(100);
    }
  };
  // Cosmetic, for the screenshot: drag the hover's bottom edge down (staying inside the editor, or the
  // hover closes) so the server's part shows without scrolling. The assertions do not depend on it.
  const enlargeHover = async (editorBottom) => {
    const sash = page.locator('.monaco-resizable-hover .monaco-sash.horizontal').last();
    const box = await sash.boundingBox({ timeout: 2000 }).catch(() => null);
    const room = box ? editorBottom - 8 - (box.y + box.height / 2) : 0;
    if (room < 20) return;
    const x = box.x + box.width / 2, y = box.y + box.height / 2;
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.move(x, y + room / 2, { steps: 5 });
    await page.mouse.move(x, y + room, { steps: 5 });
    await page.mouse.up();
  };
  // bounding box of the host value on its `host:` line (the same host is also listed under `hosts:`)
  const hostToken = async (host) => {
    const tok = viewLine(`host:\u00a0${host}`).first().locator('span span', { hasText: host.split('.')[0] }).first();
    await tok.waitFor();
    const box = await tok.boundingBox();
    if (!box) throw new Error(`no bounding box for ${host}`);
    return box;
  };

  try {
    await step('open workbench', async () => {
      await page.goto(`${base}/?folder=${encodeURIComponent(ws)}`);
      await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
      await explorerRow('hello-world').first().waitFor({ timeout: 60000 });
    });

    await step(`a. open ${ROUTES} from the Explorer`, async () => {
      await explorerRow('hello-world').first().click();
      await explorerRow('routes.yaml').first().click();
      await page.locator('.tab.active', { hasText: 'routes.yaml' }).waitFor();
      await page.locator('.monaco-editor .view-lines').first().waitFor();
    });

    await step(`b. diagnostic ${VS_HOST_CODE} in the Problems panel`, async () => {
      await page.locator('.monaco-editor .squiggly-error').first().waitFor({ timeout: 60000 });
      await page.keyboard.press('Control+Shift+M');
      // the Problems list is virtual (rows outside the view are not in the DOM): filter it down
      await filterProblems(VS_HOST_CODE);
      const row = problemRow(VS_HOST_MESSAGE).first();
      await row.waitFor();
      const text = flat(await row.innerText());
      if (!text.includes(VS_HOST_POSITION)) throw new Error(`expected ${VS_HOST_POSITION} in the Problems row: ${text}`);
      if (!text.includes(VS_HOST_CODE)) throw new Error(`expected the rule code ${VS_HOST_CODE} in: ${text}`);
      // clicking the row reveals the finding in the editor and selects its range (the cursor ends on Ln 23)
      await row.click();
      await page.locator('.statusbar-item', { hasText: /Ln 23, Col \d+/ }).first().waitFor();
      return text.slice(0, 60) + ' ... ' + text.slice(-70);
    });

    await step('c. hover on the destination host', async () => {
      // scroll line 23 near the top of the editor (Ctrl+Down scrolls one line) so the hover has room below it
      // (.view-lines moves with the scroll position; .overflow-guard is the visible viewport)
      const editor = await page.locator('.editor-group-container .monaco-editor .overflow-guard').first().boundingBox();
      let box = await hostToken(OLD_HOST);
      // focus the editor: click in the line's indentation (no word there to highlight)
      const indent = await viewLine(`host:\u00a0${OLD_HOST}`).first().boundingBox();
      await page.mouse.click(indent.x + 4, box.y + box.height / 2);
      const lines = Math.round((box.y - editor.y) / box.height) - 2;
      for (let i = 0; i < lines; i++) await page.keyboard.press('Control+ArrowDown');
      await page.waitForTimeout(300); // the view renders the scroll on the next frame
      box = await hostToken(OLD_HOST);
      // the squiggle lies under the text layer, so hover the token itself; two moves trigger the hover reliably
      await page.mouse.move(box.x + 10, box.y + box.height / 2);
      await page.mouse.move(box.x + 20, box.y + box.height / 2);
      const hover = page.locator('.monaco-hover').filter({ hasText: HOVER_TEXT }).first();
      await hover.waitFor();
      const text = flat(await hover.innerText());
      if (!text.includes(VS_HOST_MESSAGE)) throw new Error(`hover lacks the diagnostic: ${text}`);
      await enlargeHover(editor.y + editor.height);
      if (!(await hover.isVisible())) {
        log('  (the hover closed while being resized; hovering again for the screenshot)');
        await page.mouse.move(box.x + 10, box.y + box.height / 2);
        await page.mouse.move(box.x + 20, box.y + box.height / 2);
        await hover.waitFor();
      }
      await page.waitForTimeout(300); // let the hover finish its fade-in before the screenshot
      await page.screenshot({ path: path.join(artifacts, 'vscode-diagnostic-hover.png') });
      return text.slice(0, 110);
    });

    await step('d. quick fix "Route to ..."', async () => {
      await page.mouse.move(5, 400);
      await page.keyboard.press('Escape');
      const box = await hostToken(OLD_HOST);
      await page.mouse.click(box.x + 20, box.y + box.height / 2);
      await page.keyboard.press('Control+.');
      const action = page.locator('.action-widget .monaco-list-row').filter({ hasText: FIX_PREFIX }).first();
      await action.waitFor();
      const title = flat(await action.innerText());
      await action.click();
      await viewLine(`host:\u00a0${NEW_HOST}`).first().waitFor();
      await problemRow(VS_HOST_MESSAGE).first().waitFor({ state: 'detached' });
      // save and read the file back: the edit really landed on line 23
      await page.keyboard.press('Control+S');
      const line23 = () => fs.readFileSync(path.join(ws, ROUTES), 'utf8').split('\n')[22];
      await until(() => line23().includes(`host: ${NEW_HOST}`), `line 23 on disk to route to ${NEW_HOST}`);
      return `applied "${title}"; line 23 now: ${line23().trim()}`;
    });

    await step('e. status bar shows the finding count', async () => {
      // examples/broken has 6 errors and 2 warnings; the quick fix removed one error
      const item = istioStatus(5, 2);
      await item.waitFor();
      return `"${flat(await item.innerText())}" (tooltip/aria-label "${flat((await item.getAttribute('aria-label')) || '')}")`;
    });

    await step('f. istioLsp.disabledRules takes effect without a reload', async () => {
      await filterProblems('subset-not-found');
      const row = problemRow(SUBSET_MESSAGE).first();
      await row.waitFor();
      // code-server does not notice writes to User/settings.json from outside, so edit it as a user does
      await runCommand('Preferences: Open User Settings (JSON)');
      const brace = page.locator('.monaco-editor .view-line').filter({ hasText: /^\s*\{\s*$/ }).first();
      await brace.waitFor();
      await brace.click();
      await page.keyboard.press('End');
      // one insertText: typed characters would trigger auto-closing quotes and brackets
      await page.keyboard.insertText('\n"istioLsp.disabledRules": ["subset-not-found"],');
      await page.keyboard.press('Control+S');
      await until(() => {
        try {
          return JSON.stringify(readSettings()['istioLsp.disabledRules']) === '["subset-not-found"]';
        } catch {
          return false;
        }
      }, 'the saved settings.json to hold istioLsp.disabledRules');
      await page.keyboard.press('Control+W'); // close the settings editor
      const started = Date.now();
      await row.waitFor({ state: 'detached' });
      const gone = secs(started);
      await istioStatus(4, 2).waitFor();
      // only that rule went away
      await filterProblems('subset-matches-no-workload');
      const others = page.locator('.markers-panel .monaco-list-row').filter({ hasText: 'subset-matches-no-workload' });
      await others.first().waitFor();
      return `subset-not-found gone ${gone}s after the save; status "4 2 Istio"; subset-matches-no-workload still shown`;
    });

    await step('g. final screenshot', async () => {
      await filterProblems('');
      await page.locator('.markers-panel .monaco-list-row').filter({ hasText: 'yaml-syntax-error' }).first().waitFor();
      await page.screenshot({ path: path.join(artifacts, 'vscode-final.png') });
    });
    ok = true;
  } catch (e) {
    log(`FAIL in step "${currentStep}": ${e.message.split('\n')[0]}`);
    await page.screenshot({ path: path.join(artifacts, 'vscode-failure.png') }).catch(() => {});
    log(`failure screenshot: ${path.join(artifacts, 'vscode-failure.png')}`);
    const panel = await page.locator('.markers-panel').innerText({ timeout: 1000 }).catch(() => '');
    if (panel) log('Problems panel: ' + flat(panel).slice(0, 1500));
    dumpLogs();
  } finally {
    await browser.close();
  }
  log(ok ? 'PASS' : 'FAIL');
  process.exit(ok ? 0 : 1);
})().catch((e) => {
  console.log(`[drive] FAIL in step "${currentStep}": ${e.stack || e}`);
  dumpLogs();
  process.exit(1);
});

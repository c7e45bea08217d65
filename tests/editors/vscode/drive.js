// Drives a real VS Code workbench (code-server) in headless Debian Chromium through playwright-core.
// code-server must already run with the istio-lsp extension installed and the workspace (a copy of
// examples/broken) as folder. Exit code 0 = every step passed.
//
// Usage: NODE_PATH=<cache>/pw/node_modules node drive.js <baseUrl>
// Env:   WS             workspace folder (a scratch copy: the quick fix edits and saves a file)
//        USER_SETTINGS  path of the profile's User/settings.json (read back after step f edits it in the UI)
//        ARTIFACTS      directory for screenshots
//        LOGS_DIR       code-server's <user-data-dir>/logs, dumped on failure
//        SERVER_PYTHON  the python3 the extension should find on PATH (checked in the Output channel)
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
const serverPython = process.env.SERVER_PYTHON || 'python3';

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
const OUTPUT_CHANNEL = 'Istio LSP';
const BUNDLED_ROUTE = 'using the bundled server ('; // the extension's log line when it runs bundled/launch.py
const RESTART_LOG = 'restarting the server: restart requested';
const RUNNING_LOG = 'server running (bundled server';
const DOC_CODE = 'subset-matches-no-workload'; // still reported after step f: bookstore/reviews.yaml Ln 50 and 53
// the pages' second paragraph is the rule's summary: read it from the page, so the two never drift apart
const pageSummary = (code) =>
  fs.readFileSync(path.join(__dirname, '..', '..', '..', 'istio_lsp', 'docs', 'rules', `${code}.md`), 'utf8')
    .split('\n\n')[1].trim();
const DOC_SUMMARY = pageSummary(DOC_CODE);
const PICKED_CODE = 'subset-not-found'; // disabled in step f, but its page is still listed
const PICKED_SUMMARY = pageSummary(PICKED_CODE);
// what is left after steps d and f: 6 errors, 2 warnings
const REMAINING = ['yaml-syntax-error', 'gateway-not-found', 'destination-host-not-found', 'subset-matches-no-workload',
  'subset-without-destinationrule', 'route-backend-not-permitted'];

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
  const runCommand = async (title, rowText = title.split(': ').pop()) => {
    await page.keyboard.press('Control+Shift+P');
    await page.locator('.quick-input-widget input').first().waitFor();
    await page.keyboard.type(title);
    // click the match: Enter can come before the list is filled
    const row = page.locator('.quick-input-list .monaco-list-row').filter({ hasText: rowText }).first();
    await row.waitFor();
    await row.click();
  };
  // The Output view is a read-only, word-wrapping Monaco editor: only the lines in its viewport are in the DOM, in
  // any order, and a long line is split over several. Put the segments back in order and join them; the log lines
  // then run together, which is fine for substring checks (entries() splits them again for messages).
  const outputText = () =>
    page.evaluate(() => {
      const editors = [...document.querySelectorAll('.part.panel .monaco-editor')];
      const editor = editors.find((e) => e.getClientRects().length && e.querySelector('.view-line')); // visible
      if (!editor) return '';
      return [...editor.querySelectorAll('.view-line')]
        .sort((x, y) => parseFloat(x.style.top) - parseFloat(y.style.top))
        .map((l) => l.textContent.replace(/\u00a0/g, ' '))
        .join('');
    });
  const entries = (text) => text.split(/(?=\[istio-lsp \d|WARNING |INFO |ERROR )/).map((l) => l.trim()).filter(Boolean);
  // what the visible channel pickers (<select>) of the panel show
  const outputChannel = () =>
    page.evaluate(() =>
      [...document.querySelectorAll('.part.panel select')]
        .filter((sel) => sel.offsetParent !== null)
        .map((sel) => sel.options[sel.selectedIndex]?.text ?? ''));
  // "Istio: Show Output", then wait until the panel shows the Output view with our channel
  const showOutput = async () => {
    await runCommand('Istio: Show Output', 'Istio: Show Output');
    const deadline = Date.now() + TIMEOUT;
    let channels;
    while (!(channels = await outputChannel()).includes(OUTPUT_CHANNEL)) {
      if (Date.now() > deadline) {
        throw new Error(`the Output panel's pickers show ${JSON.stringify(channels)}, not ${OUTPUT_CHANNEL}`);
      }
      await page.waitForTimeout(100);
    }
    await page.locator('.part.panel .monaco-editor .view-line').first().waitFor();
  };
  // Filter the Output view down to the lines containing `filter` (the viewport holds only ~10 of them), then
  // wait until the text shown passes `check`.
  const outputFiltered = async (filter, check, what) => {
    const input = page.locator('.part.panel input[placeholder^="Filter"]:visible').first();
    const deadline = Date.now() + TIMEOUT;
    for (;;) {
      // (re)type it when the box lost it, e.g. to a view switch in between
      if ((await input.inputValue()) !== filter) await input.fill(filter);
      const text = await outputText();
      if (check(text)) return text;
      if (Date.now() > deadline) {
        const editors = await page.locator('.part.panel .monaco-editor').count();
        throw new Error(`the Output filtered by "${filter}" lacks ${what}; the filter box holds ` +
          `"${await input.inputValue()}", ${editors} editor(s) in the panel; it shows:\n  ${entries(text).join('\n  ')}`);
      }
      await page.waitForTimeout(200);
    }
  };
  const occurrences = (text, part) => text.split(part).length - 1;
  // Body text of the webviews (markdown previews live in nested iframes); polls until one contains `text`.
  const webviewWith = async (text) => {
    const deadline = Date.now() + TIMEOUT;
    let bodies = [];
    while (Date.now() < deadline) {
      bodies = [];
      for (const frame of page.frames()) {
        if (frame === page.mainFrame()) continue;
        const body = await frame.evaluate(() => (document.body ? document.body.innerText : '')).catch(() => '');
        if (body.includes(text)) return flat(body);
        if (body) bodies.push(flat(body).slice(0, 120));
      }
      await page.waitForTimeout(200);
    }
    throw new Error(`no webview shows "${text}"; webview bodies: ${JSON.stringify(bodies)}`);
  };
  // Click the first "Trace a request…" lens of the editor in `scope` (an editor group) and check the request the
  // prompt is prefilled with; the prompt's input, still open, is returned.
  const openTraceLens = async (scope, expected) => {
    await scope.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+Home');
    const lens = scope.locator('.monaco-editor .codelens-decoration a', { hasText: 'Trace a request' }).first();
    await lens.waitFor();
    await lens.click();
    const input = page.locator('.quick-input-widget input').first();
    await input.waitFor();
    const prefilled = await input.inputValue();
    if (prefilled !== expected) throw new Error(`the request is prefilled as "${prefilled}", not "${expected}"`);
    return input;
  };
  const tabTitles = async () => (await page.locator('.tabs-container .tab').allInnerTexts()).map(flat);
  // the Markdown preview of a rule's page, which Open Rule Documentation opens as the active tab
  const rulePreviewTitle = async (code) => {
    const tab = page.locator('.tabs-container .tab.active').filter({ hasText: code }).first();
    await tab.waitFor().catch(async (e) => {
      const tabs = JSON.stringify(await tabTitles());
      throw new Error(`no active tab for ${code} (tabs: ${tabs}): ${e.message.split('\n')[0]}`);
    });
    const title = flat(await tab.innerText());
    if (!title.startsWith('Preview ')) throw new Error(`expected a Markdown preview, got the tab "${title}"`);
    return title;
  };
  const quickPickRow = (text) => page.locator('.quick-input-list .monaco-list-row').filter({ hasText: text }).first();
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
      // examples/broken has 8 errors and 2 warnings; the quick fix removed one error
      const item = istioStatus(7, 2);
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
      await istioStatus(6, 2).waitFor();
      // only that rule went away
      await filterProblems('subset-matches-no-workload');
      const others = page.locator('.markers-panel .monaco-list-row').filter({ hasText: 'subset-matches-no-workload' });
      await others.first().waitFor();
      return `subset-not-found gone ${gone}s after the save; status "6 2 Istio"; subset-matches-no-workload still shown`;
    });

    await step('g. final screenshot', async () => {
      await filterProblems('');
      await page.locator('.markers-panel .monaco-list-row').filter({ hasText: 'yaml-syntax-error' }).first().waitFor();
      await page.screenshot({ path: path.join(artifacts, 'vscode-final.png') });
    });

    await step('h. "Istio: Show Output" from the Command Palette', async () => {
      await showOutput();
      const python = serverPython.replace(/[.+]/g, '\\$&');
      const command = new RegExp(`\\] starting: ${python} -I \\S+/bundled/launch\\.py serve\\b`);
      const text = await outputFiltered('bundled', (t) => t.includes(BUNDLED_ROUTE) && command.test(t),
        `"${BUNDLED_ROUTE}..." and "starting: ${serverPython} -I .../bundled/launch.py serve"`);
      await outputFiltered('', () => true, '');
      const route = entries(text).find((l) => l.includes(BUNDLED_ROUTE));
      if (!route.includes('/bundled) with Python 3.')) throw new Error(`unexpected route line: ${route}`);
      const started = entries(text).find((l) => command.test(l));
      return `channel "${OUTPUT_CHANNEL}"; ${route.replace(/^.*?\] /, '')}; ${started.replace(/^.*?\] /, '')}`;
    });

    await step(`i1. "Istio: Open Rule Documentation" on a ${DOC_CODE} diagnostic`, async () => {
      await page.keyboard.press('Control+Shift+M');
      await filterProblems(DOC_CODE);
      const row = problemRow('[Ln 50, Col 7]').first();
      await row.waitFor();
      await row.click(); // opens bookstore/reviews.yaml and selects the diagnostic's range
      await page.locator('.tab.active', { hasText: 'reviews.yaml' }).waitFor();
      await page.locator('.statusbar-item', { hasText: /Ln 50, Col \d+/ }).first().waitFor();
      await runCommand('Istio: Open Rule Documentation', 'Istio: Open Rule Documentation');
      const title = await rulePreviewTitle(DOC_CODE);
      if (await page.locator('.quick-input-widget').isVisible()) {
        throw new Error('a QuickPick opened although the cursor is on a diagnostic');
      }
      const body = await webviewWith(DOC_SUMMARY);
      await page.screenshot({ path: path.join(artifacts, 'vscode-rule-doc.png') });
      return `tab "${title}"; preview: ${body.slice(0, 90)}`;
    });

    await step('i2. "Istio: Open Rule Documentation" off any diagnostic: QuickPick of rules', async () => {
      await page.locator('.tabs-container .tab').filter({ hasText: exactly('reviews.yaml') }).first().click();
      await page.keyboard.press('Control+Home');
      await page.locator('.statusbar-item', { hasText: /Ln 1, Col 1\b/ }).first().waitFor();
      await runCommand('Istio: Open Rule Documentation', 'Istio: Open Rule Documentation');
      // the whole list, alphabetical: its first row is the first rule
      await quickPickRow('authority-set-twice').waitFor();
      const shown = (await page.locator('.quick-input-list .monaco-list-row').allInnerTexts()).length;
      await page.keyboard.type(PICKED_CODE);
      const row = quickPickRow(PICKED_CODE);
      await row.waitFor();
      const text = flat(await row.innerText());
      if (!text.startsWith(PICKED_CODE) || !text.includes(PICKED_SUMMARY)) {
        throw new Error(`unexpected QuickPick row: ${text}`);
      }
      await row.click();
      const title = await rulePreviewTitle(PICKED_CODE);
      await webviewWith(PICKED_SUMMARY);
      return `${shown} rows shown at first; picked "${text.slice(0, 70)}..."; tab "${title}"`;
    });

    await step('j. "Istio: Restart Server"', async () => {
      // record every text the Istio status item and the Problems counter show, however briefly
      await page.evaluate(() => {
        const seen = (window.__istioSeen = { istio: [], problems: [] });
        const push = (list, text) => list[list.length - 1] !== text && list.push(text);
        const record = () => {
          for (const item of document.querySelectorAll('.part.statusbar .statusbar-item')) {
            const text = item.textContent.replace(/\s+/g, ' ').trim();
            // our item only ("6 2 Istio", "Istio: starting…"), not e.g. the server's "Indexing Istio manifests" progress
            if (/^((\d+ )*Istio|Istio: .*)$/.test(text)) push(seen.istio, text);
            else if (item.id === 'status.problems') push(seen.problems, item.getAttribute('aria-label') || text);
          }
        };
        record();
        new MutationObserver(record).observe(document.querySelector('.part.statusbar'),
          { subtree: true, childList: true, characterData: true, attributes: true });
      });
      await page.locator('.tabs-container .tab').filter({ hasText: exactly('reviews.yaml') }).first().click();
      const started = Date.now();
      await runCommand('Istio: Restart Server', 'Istio: Restart Server');
      const seen = () => page.evaluate(() => window.__istioSeen);
      let history;
      const deadline = Date.now() + TIMEOUT;
      for (;;) {
        history = await seen();
        const starting = history.istio.some((t) => t.includes('Istio: starting'));
        if (starting && /^6 2 Istio$/.test(history.istio[history.istio.length - 1])) break;
        if (Date.now() > deadline) {
          throw new Error(`the status item did not go starting -> "6 2 Istio": ${JSON.stringify(history)}`);
        }
        await page.waitForTimeout(100);
      }
      const back = secs(started);
      // the built-in Problems counter dropped when the old client went and came back with the new server's findings
      const counts = history.problems;
      if (counts.length < 3 || counts[counts.length - 1] !== counts[0]) {
        throw new Error(`the Problems counter did not drop and come back: ${JSON.stringify(counts)}`);
      }
      // the old client's diagnostics are gone with it; the new server published them again
      await page.keyboard.press('Control+Shift+M');
      for (const code of REMAINING) {
        await filterProblems(code);
        await problemRow(code).first().waitFor();
      }
      await filterProblems(PICKED_CODE); // still disabled by the user setting
      await page.waitForTimeout(300);
      const stale = await page.locator('.markers-panel .monaco-list-row').filter({ hasText: PICKED_CODE }).count();
      if (stale) throw new Error(`${PICKED_CODE} is reported again after the restart`);
      await filterProblems('');
      // the Output channel tells the restart and a second start of the bundled server
      await showOutput();
      await outputFiltered('server running', (t) => occurrences(t, RUNNING_LOG) === 2, `two "${RUNNING_LOG}" lines`);
      await outputFiltered('restart', (t) => occurrences(t, RESTART_LOG) === 1, `one "${RESTART_LOG}" line`);
      await outputFiltered('', () => true, '');
      const chain = (list) => list.map((t) => `"${t}"`).join(' -> ');
      return `status ${chain(history.istio)} (back in ${back}s); Problems counter ${chain(counts)}; ` +
        `all ${REMAINING.length} remaining rules listed again, ${PICKED_CODE} still off`;
    });

    await step('k. Gateway API: go to the listener a sectionName names, hover it for its routes', async () => {
      await page.keyboard.press('Escape');
      await explorerRow('gateway-api').first().click();
      await explorerRow('edge.yaml').first().click();
      await page.locator('.tab.active', { hasText: 'edge.yaml' }).waitFor();
      const token = async (lineText, word) => {
        const tok = viewLine(lineText).first().locator('span span', { hasText: word }).first();
        await tok.waitFor();
        const box = await tok.boundingBox();
        if (!box) throw new Error(`no bounding box for ${word} on "${lineText}"`);
        return box;
      };
      // the route's parentRef is below the fold: go to its line first (Ctrl+G), which scrolls it into view
      await page.locator('.editor-group-container .monaco-editor .view-lines').first().click();
      await page.keyboard.press('Control+g');
      await page.keyboard.type('34');
      // Enter before the widget has read the number leaves it open (seen once in CI): wait until it offers line 34
      await page.locator('.quick-input-widget').filter({ hasText: /line 34/ }).first().waitFor();
      await page.keyboard.press('Enter');
      await page.locator('.statusbar-item', { hasText: /Ln 34, Col 1/ }).first().waitFor();
      let box = await token('sectionName:\u00a0web', 'web');
      await page.mouse.click(box.x + 5, box.y + box.height / 2);
      await page.keyboard.press('F12');
      // the listener's `- name: web`, line 9, where `web` starts
      await page.locator('.statusbar-item', { hasText: /Ln 9, Col 11/ }).first().waitFor();
      box = await token('-\u00a0name:\u00a0web', 'web');
      await page.mouse.move(box.x + 5, box.y + box.height / 2);
      await page.mouse.move(box.x + 10, box.y + box.height / 2);
      const hover = page.locator('.monaco-hover').filter({ hasText: 'listener web of Gateway storefront/edge' }).first();
      await hover.waitFor();
      const text = flat(await hover.innerText());
      if (!text.includes('attached: HTTPRoute storefront/frontend')) throw new Error(`hover lacks the route: ${text}`);
      return text.slice(0, 110);
    });

    await step('l. "Trace a request…" code lens: prefilled request, trace shown beside the editor', async () => {
      await page.keyboard.press('Escape');
      await page.locator('.tabs-container .tab').filter({ hasText: exactly('routes.yaml') }).first().click();
      const prefilled = 'GET http://hello.example.com/ via hello-world-app/hello-gateway';
      await openTraceLens(page.locator('.editor-group-container').first(), prefilled);
      await page.keyboard.press('Enter');
      await page.locator('.tab', { hasText: 'Istio trace.md' }).first().waitFor();
      const text = await webviewWith('GET http://hello.example.com/');
      if (!text.includes('ROUTED')) throw new Error(`the trace is not the routed one: ${text.slice(0, 300)}`);
      return `prefilled "${prefilled}"; preview: ${text.replace(/\s+/g, ' ').slice(0, 100)}`;
    });

    await step('m. the trace follows the files: a host renamed on disk turns it into a 404', async () => {
      const routes = path.join(ws, 'hello-world', 'routes.yaml');
      const before = fs.readFileSync(routes, 'utf8');
      if (!before.includes('  - hello.example.com\n')) throw new Error('routes.yaml lists no hello.example.com host');
      fs.writeFileSync(routes, before.replace('  - hello.example.com\n', '  - hello2.example.com\n'));
      try {
        const text = await webviewWith('GET http://hello.example.com/ → 404');
        return text.replace(/\s+/g, ' ').slice(0, 100);
      } finally {
        fs.writeFileSync(routes, before);
      }
    });

    await step('n. an HTTPRoute\'s lens traces through its Gateway API Gateway; a ReferenceGrant on disk ends the 500', async () => {
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+P'); // Quick Open: the workspace has several gateway.yaml files
      await page.locator('.quick-input-widget input').first().waitFor();
      await page.keyboard.type('storefront/gateway.yaml');
      const file = page.locator('.quick-input-list .monaco-list-row').filter({ hasText: 'storefront' }).first();
      await file.waitFor();
      await file.click();
      // the trace preview of step l is open beside: work in the group that shows the file
      const group = page.locator('.editor-group-container.active');
      await group.locator('.tab.active', { hasText: 'gateway.yaml' }).waitFor();
      const prefilled = 'GET http://store.example.com/ via storefront/storefront-gateway';
      const input = await openTraceLens(group, prefilled);
      await input.fill('GET http://store.example.com/api/items via storefront/storefront-gateway');
      await page.keyboard.press('Enter');
      const failing = await webviewWith('GET http://store.example.com/api/items → 500');
      if (!failing.includes('route-backend-not-permitted') && !failing.includes('ReferenceGrant')) {
        throw new Error(`the 500 does not say why: ${failing.slice(0, 300)}`);
      }
      const gateway = path.join(ws, 'storefront', 'gateway.yaml');
      const before = fs.readFileSync(gateway, 'utf8');
      const grant = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'examples', 'fixed', 'storefront', 'gateway.yaml'), 'utf8');
      fs.writeFileSync(gateway, grant);
      try {
        const routed = await webviewWith('GET http://store.example.com/api/items → ROUTED');
        return `prefilled "${prefilled}"; 500, then after the grant: ${routed.slice(0, 100)}`;
      } finally {
        fs.writeFileSync(gateway, before);
      }
    });
    ok = true;
  } catch (e) {
    log(`FAIL in step "${currentStep}": ${e.message.split('\n')[0]}`);
    await page.screenshot({ path: path.join(artifacts, 'vscode-failure.png') }).catch(() => {});
    log(`failure screenshot: ${path.join(artifacts, 'vscode-failure.png')}`);
    const panel = await page.locator('.markers-panel').innerText({ timeout: 1000 }).catch(() => '');
    if (panel) log('Problems panel: ' + flat(panel).slice(0, 1500));
    log('tabs: ' + JSON.stringify(await tabTitles().catch(() => [])));
    const quick = await page.locator('.quick-input-widget .quick-input-list').innerText({ timeout: 1000 })
      .catch(() => '');
    if (quick) log('QuickPick: ' + flat(quick).slice(0, 800));
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

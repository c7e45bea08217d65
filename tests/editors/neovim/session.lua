-- One headless Neovim session against istio-lsp, started by the README's configuration.
-- Run by tests/editors/test_neovim.py from the root of a copy of examples/broken:
--   nvim --headless --clean -n -c 'luafile session.lua'
-- Env: ISTIO_TEST_CONFIG   Lua file holding the README block (loaded like an init.lua)
--      ISTIO_TEST_SETTINGS JSON object for settings.istioLsp, applied with vim.lsp.config (0.11+; optional)
--      ISTIO_TEST_EXPECT   JSON list of "path:line:code:severity", what `istio-lsp check` reports
--      ISTIO_TEST_WAIT_MS  how long each step may wait
-- Prints one marker line per step and PASS; any failure prints FAIL and exits 1.
-- Works on Neovim 0.7 and 0.11: it goes through the user-facing functions (hover float, jump to
-- definition, the code action menu via vim.ui.select, buffer edits), which exist in both.

local WAIT = tonumber(os.getenv('ISTIO_TEST_WAIT_MS') or '') or 15000
local SEVERITY = { 'error', 'warning', 'information', 'hint' }
local uv = vim.uv or vim.loop

local function say(line)
  io.stdout:write(line .. '\n')
end

local function check(ok, message)
  if not ok then
    error(message, 0)
  end
end

local root = uv.fs_realpath(vim.fn.getcwd())

local function relpath(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local real = uv.fs_realpath(name) or name
  if real:sub(1, #root + 1) == root .. '/' then
    return real:sub(#root + 2)
  end
  return real
end

local function code_of(d)
  if d.code ~= nil then
    return tostring(d.code)
  end
  local lsp = d.user_data and d.user_data.lsp
  return lsp and tostring(lsp.code) or '?'
end

-- Every istio-lsp diagnostic Neovim holds, in all buffers (files never opened included), sorted.
local function findings()
  local out = {}
  for _, d in ipairs(vim.diagnostic.get()) do
    if d.source == 'istio-lsp' then
      out[#out + 1] = ('%s:%d:%s:%s'):format(relpath(d.bufnr), d.lnum + 1, code_of(d), SEVERITY[d.severity])
    end
  end
  table.sort(out)
  return out
end

local function without(list, drop)
  local out = {}
  for _, item in ipairs(list) do
    if not vim.tbl_contains(drop, item) then
      out[#out + 1] = item
    end
  end
  return out
end

local function wait_for(what, predicate, detail)
  if not vim.wait(WAIT, predicate, 20) then
    error(('timed out after %d ms waiting for %s%s'):format(WAIT, what, detail and (': ' .. detail()) or ''), 0)
  end
end

local function wait_findings(what, expected)
  local want = table.concat(expected, ', ')
  wait_for(what, function()
    return table.concat(findings(), ', ') == want
  end, function()
    return '\n  got:      ' .. table.concat(findings(), ', ') .. '\n  expected: ' .. want
  end)
end

local function clients(bufnr)
  local out = {}
  if vim.lsp.get_clients then
    out = vim.lsp.get_clients({ bufnr = bufnr, name = 'istio_lsp' })
  else
    for _, c in pairs(vim.lsp.buf_get_clients(bufnr)) do
      if c.name == 'istio_lsp' then
        out[#out + 1] = c
      end
    end
  end
  return out
end

local function open(path)
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  local bufnr = vim.api.nvim_get_current_buf()
  wait_for('istio_lsp to attach to ' .. path, function()
    return #clients(bufnr) > 0
  end)
  return bufnr
end

local function floating_windows()
  local out = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      out[#out + 1] = win
    end
  end
  return out
end

-- The user's view: cursor on a 1-based line, at the first character of TEXT on it.
local function cursor_on(line, text)
  local content = vim.api.nvim_buf_get_lines(0, line - 1, line, true)[1]
  local col = content:find(text, 1, true)
  check(col ~= nil, ('line %d of %s does not hold %q: %q'):format(line, relpath(0), text, content))
  vim.api.nvim_win_set_cursor(0, { line, col - 1 })
end

local function definition_from(line, text)
  cursor_on(line, text)
  local from = ('%s:%d'):format(relpath(0), line)
  local before = vim.api.nvim_get_current_buf()
  vim.lsp.buf.definition()
  wait_for('the jump to the definition of ' .. text, function()
    return vim.api.nvim_get_current_buf() ~= before or vim.api.nvim_win_get_cursor(0)[1] ~= line
  end)
  local pos = vim.api.nvim_win_get_cursor(0)
  return from, ('%s:%d'):format(relpath(0), pos[1])
end

local function main()
  dofile(os.getenv('ISTIO_TEST_CONFIG'))
  local settings = os.getenv('ISTIO_TEST_SETTINGS') or ''
  if settings ~= '' then
    check(vim.lsp.config ~= nil, 'settings are applied with vim.lsp.config, which needs Neovim 0.11+')
    vim.lsp.config('istio_lsp', { settings = { istioLsp = vim.fn.json_decode(settings) } })
  end
  local expected = vim.fn.json_decode(os.getenv('ISTIO_TEST_EXPECT'))
  table.sort(expected)
  local routes_finding = 'hello-world/routes.yaml:23:destination-host-is-virtualservice:error'
  local ratings_finding = nil
  for _, f in ipairs(expected) do
    if f:find('^bookstore/ratings.yaml:81:subset%-not%-found:') then
      ratings_finding = f
    end
  end
  check(vim.tbl_contains(expected, routes_finding), 'the checker does not report ' .. routes_finding)
  check(ratings_finding ~= nil, 'the checker reports no subset-not-found at bookstore/ratings.yaml:81')

  -- 1. Opening a file starts the server on the repository; all its findings arrive, as the checker has them.
  local routes = open('hello-world/routes.yaml')
  local client = clients(routes)[1]
  say(('CLIENT %s root=%s'):format(client.name, client.config.root_dir))
  check(uv.fs_realpath(client.config.root_dir) == root, 'root_dir is not the repository: ' .. client.config.root_dir)
  wait_findings('the workspace diagnostics', expected)
  for _, f in ipairs(findings()) do
    say('DIAG ' .. f)
  end

  -- 2. Hover on the destination host: the float says it is only a VirtualService host.
  cursor_on(23, 'deployment-1.hello-world-app')
  vim.lsp.buf.hover()
  wait_for('the hover window', function()
    return #floating_windows() > 0
  end)
  local win = floating_windows()[1]
  local hover = table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false), ' | ')
  vim.api.nvim_win_close(win, true)
  say('HOVER ' .. hover)
  check(hover:find('Only a VirtualService host', 1, true), 'hover does not say "Only a VirtualService host"')
  check(hover:find('hello-world-app/deployment-1-vs', 1, true), 'hover does not name the VirtualService')

  -- 3. Go to definition: a destination host to its Service in another file; a subset to the DestinationRule's.
  local from, to = definition_from(28, 'hello-world-svc')
  say('DEFINITION ' .. from .. ' -> ' .. to)
  local want = 'hello-world/workloads.yaml:4' -- metadata.name of Service hello-world-svc
  check(to == want, ('expected the jump to %s, got %s'):format(want, to))

  -- 4. Quick fix through the code action menu (vim.ui.select is the menu every UI plugin replaces).
  vim.cmd('buffer ' .. routes)
  cursor_on(23, 'deployment-1.hello-world-app')
  local offered = {}
  local picked = false
  vim.ui.select = function(items, opts, on_choice)
    for i, item in ipairs(items) do
      local title = opts.format_item and opts.format_item(item) or tostring(item)
      offered[#offered + 1] = title
      if not picked and title:find('Route to `deployment-1-svc', 1, true) then
        picked = true
        on_choice(item, i)
        return
      end
    end
    on_choice(nil, nil)
  end
  vim.lsp.buf.code_action()
  wait_for('the code action menu', function()
    return #offered > 0
  end)
  say('ACTIONS ' .. table.concat(offered, ' | '))
  check(picked, 'no "Route to `deployment-1-svc`" action offered')
  local after_fix = without(expected, { routes_finding })
  wait_findings('the quick fix to clear ' .. routes_finding, after_fix)
  local fixed = vim.trim(vim.api.nvim_buf_get_lines(routes, 22, 23, true)[1])
  say('FIXED hello-world/routes.yaml:23 ' .. fixed)
  check(fixed:find('^host: deployment%-1%-svc'), 'line 23 after the fix: ' .. fixed)

  -- 5. Typing: correct the misspelled subset; its finding goes, no other changes.
  local ratings = open('bookstore/ratings.yaml')
  from, to = definition_from(85, 'canary')
  say('DEFINITION ' .. from .. ' -> ' .. to)
  want = 'bookstore/ratings.yaml:65' -- the DestinationRule's `- name: canary`
  check(to == want, ('expected the jump to %s, got %s'):format(want, to))
  vim.cmd('buffer ' .. ratings)
  local text = vim.api.nvim_buf_get_lines(ratings, 80, 81, true)[1]
  local col = text:find('stabel', 1, true)
  check(col ~= nil, 'line 81 of ratings.yaml: ' .. text)
  vim.api.nvim_buf_set_text(ratings, 80, col - 1, 80, col + 5, { 'stable' })
  wait_findings('the edit to clear ' .. ratings_finding, without(after_fix, { ratings_finding }))
  say('EDITED bookstore/ratings.yaml:81 stabel -> stable')
  for _, f in ipairs(findings()) do
    say('LEFT ' .. f)
  end

  local id = client.id
  vim.lsp.stop_client(id)
  wait_for('the server to stop', function()
    return vim.lsp.get_client_by_id(id) == nil
  end)
end

local ok, err = xpcall(main, debug.traceback)
if not ok then
  say('FAIL: ' .. tostring(err))
  io.stdout:flush()
  vim.cmd('cquit 1')
end
say('PASS')
io.stdout:flush()
vim.cmd('qall!')

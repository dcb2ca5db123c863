-- A minimal Neovim configuration for tests/test_editor.py: start `leaklint server` for the
-- buffer, wait for its diagnostics, apply the quick fix of the first one through Neovim's own
-- code-action and workspace-edit machinery, write the buffer and quit. Any failure quits with
-- status 3 and says why on standard error. Written for Neovim 0.7 (Debian 12) and later.

local function fail(message)
  io.stderr:write("neovim: " .. message .. "\n")
  vim.cmd("cquit 3")
end

local python = os.getenv("LEAKLINT_PYTHON")
local root = os.getenv("LEAKLINT_ROOT")
if not python or not root then
  fail("LEAKLINT_PYTHON and LEAKLINT_ROOT must be set")
end

-- the file named on the command line is loaded after this configuration runs
local function run()
  local bufnr = vim.api.nvim_get_current_buf()
  local client_id = vim.lsp.start_client({
    name = "leaklint",
    cmd = { python, "-m", "leaklint", "server" },
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = "project" } },
  })
  if not client_id then
    fail("the server did not start")
  end
  vim.lsp.buf_attach_client(bufnr, client_id)

  local found = vim.wait(30000, function()
    return #vim.diagnostic.get(bufnr) > 0
  end, 50)
  if not found then
    fail("no diagnostics within 30 s")
  end

  local diagnostic = vim.diagnostic.get(bufnr)[1]
  if diagnostic.source ~= "leaklint" then
    fail("diagnostic from " .. tostring(diagnostic.source))
  end
  io.stdout:write("diagnostic: " .. tostring(diagnostic.code) .. " " .. diagnostic.message .. "\n")
  vim.api.nvim_win_set_cursor(0, { diagnostic.lnum + 1, diagnostic.col })

  local params = vim.lsp.util.make_range_params()
  params.context = { diagnostics = {}, only = { "quickfix" } }
  local responses = vim.lsp.buf_request_sync(bufnr, "textDocument/codeAction", params, 30000)
  local chosen = nil
  for _, response in pairs(responses or {}) do
    for _, action in ipairs(response.result or {}) do
      if not chosen and action.edit and string.find(action.title, diagnostic.code, 1, true) then
        chosen = action
      end
    end
  end
  if not chosen then
    fail("no quick fix for " .. tostring(diagnostic.code))
  end
  io.stdout:write("action: " .. chosen.title .. "\n")
  vim.lsp.util.apply_workspace_edit(chosen.edit, "utf-16")
  vim.cmd("write")
  vim.lsp.stop_client(client_id)
  vim.cmd("qall!")
end

vim.api.nvim_create_autocmd("VimEnter", {
  callback = function()
    local ok, problem = pcall(run)
    if not ok then
      fail(tostring(problem))
    end
  end,
})

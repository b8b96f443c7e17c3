-- Every snippet in the docs runs (issue 14). The fenced blocks of README.md and docs/*.md are
-- read at load time, each with its file and the line of its opening fence:
--   ```lua            runs here, in a new interpreter of the Lua under test, in a fresh folder,
--                     against the local server (MISTRAL_SERVER_URL and MISTRAL_API_KEY set);
--   ```lua fragment   a part of a program, or code for a host a plain interpreter is not
--                     (Neovim's vim.*, OpenResty's ngx.*): only compiled here;
--   ```sh run         runs here with sh -e, in a fresh folder, the same variables set;
--   ```sh             only parsed (sh -n): installs, builds, clones, synopses.
-- GitHub highlights a block by the first word of its info string (the CommonMark rule: the
-- first word is the language), so "lua fragment" still shows as Lua. Errors of a run block
-- name the doc's own lines: the block is loaded under the doc's name with its first line at
-- its line in the doc. The nginx.conf is run as shipped by spec/12-hosts_spec.lua
-- (spec/hosts/relay.lua); what the docs show of it must be a verbatim excerpt.
local support = require("support")

local loadstring = loadstring or load  -- luacheck: ignore 113

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The words each language's info string may add: anything else is a typo ("lua fragmnet").
local WORDS = { lua = { fragment = true }, sh = { run = true }, nginx = { fragment = true } }

-- Files a block names (by a quoted path) are made in its folder first: { [name] = content }.
local function read(path) return assert(support.read(path), "cannot read " .. path) end
local TRAIN = read("examples/train.jsonl")
local BATCH_LINE = '{"custom_id":"1","body":{"max_tokens":10,"messages":[{"role":"user","content":"Hi"}]}}\n'
local FILES = {
  ["examples/train.jsonl"] = TRAIN,
  ["data/train.jsonl"] = TRAIN,
  ["a.jsonl"] = BATCH_LINE, ["b.jsonl"] = BATCH_LINE, ["c.jsonl"] = BATCH_LINE,
}

-- What a few run blocks need around them, found by their doc and first line: `before`, one
-- line put ahead of the block (on a line of its own above the block's, so line numbers hold),
-- where "${file_id}" becomes the id of a file uploaded for the block; `after`, checks that
-- what the block computed is right (a block that ignores its results would pass anyway).
local AROUND = {
  -- the README's first lines: the upload must have worked
  { file = "README.md", first = 'local client = require("mistralai").new{ api_key = os.getenv("MISTRAL_API_KEY") }',
    after = 'assert(f, tostring(err))' },
  -- the operations at a glance: a client and a file to retrieve, download, sign and delete
  { file = "docs/api.md", first = "-- upload: from a path (streamed from disk) or from memory",
    before = 'local client = require("mistralai").new{} local file_id = "${file_id}"',
    after = 'assert(page and page.data, "list") assert(s and ok and u and u.url and d and d.deleted, tostring(err))' },
  -- gather: a client and the folder's files (made from FILES)
  { file = "docs/hosts.md", first = "-- upload a folder's files at once (at most `concurrency` at a time, default 8)",
    before = 'local client = require("mistralai").new{} local paths = { "a.jsonl", "b.jsonl", "c.jsonl" }',
    after = 'assert(#results == 3) for _, r in ipairs(results) do assert(r[1], tostring(r[2])) end' },
  -- the retry policy shown is the default one, field for field, and a client takes it
  { file = "docs/reliability.md", first = "retry = {",
    after = [[
local defaults = require("mistralai.retry").defaults
for k, v in pairs(defaults) do
  local shown = retry[k]
  if type(v) == "table" then v, shown = table.concat(v, ","), table.concat(shown or {}, ",") end
  assert(shown == v, ("%s: the docs show %s, the default is %s"):format(k, tostring(shown), tostring(v)))
end
for k in pairs(retry) do assert(defaults[k] ~= nil, k .. " is no field of the policy") end
require("mistralai").new{ retry = retry }:close()]] },
}

-- Blocks shown unmarked but not run here, because the suite runs the same code elsewhere: the
-- block must equal that file. examples/event_loop.lua needs luv; spec/06-examples_spec.lua
-- runs it, and spec/17-docs_spec.lua wants it shown under a plain ```lua.
local ELSEWHERE = {
  { file = "docs/hosts.md", first = "-- A client on a luv (libuv) event loop: the loop watches the sockets libcurl waits on and",
    same_as = "examples/event_loop.lua", run_by = "spec/06-examples_spec.lua" },
}

-- Fragments that are verbatim excerpts of a shipped file the suite runs (indented as there).
local EXCERPTS = {
  -- the relay's upload handler; spec/12-hosts_spec.lua runs the nginx.conf as shipped
  { file = "docs/hosts.md", first = "local size = tonumber(ngx.var.http_content_length)", of = "examples/openresty/nginx.conf" },
}

-- The fenced blocks of a Markdown file: { file, line (the opening fence), lang, words, text }.
local function blocks_of(file)
  local out, open = {}, nil
  local n = 0
  for line in (read(file) .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    if open then
      if line:find("^%s*```%s*$") then
        open.text = table.concat(open.lines, "\n") .. "\n"
        out[#out + 1], open = open, nil
      else
        open.lines[#open.lines + 1] = line
      end
    else
      local info = line:match("^%s*```(.*)$")
      if info then
        local words, lang = {}, nil
        for w in info:gmatch("%S+") do
          if lang then words[#words + 1] = w else lang = w end
        end
        open = { file = file, line = n, lang = lang or "", words = words, lines = {} }
      end
    end
  end
  assert(not open, file .. ": a fence opened at line " .. (open and open.line or 0) .. " is never closed")
  return out
end

local function all_blocks()
  local files = { "README.md" }
  for path in support.sh("ls docs/*.md"):gmatch("[^\n]+") do files[#files + 1] = path end
  local out = {}
  for _, file in ipairs(files) do
    for _, b in ipairs(blocks_of(file)) do out[#out + 1] = b end
  end
  return out
end

local function has_word(b, word)
  for _, w in ipairs(b.words) do if w == word then return true end end
  return false
end

local function first_line(b) return b.text:match("^([^\n]*)") end

-- The entry of a table above for block b, if any.
local function entry(list, b)
  for _, e in ipairs(list) do
    if e.file == b.file and e.first == first_line(b) then return e end
  end
end

local function where(b) return ("%s:%d"):format(b.file, b.line) end

-- Does the text of file `of` hold block b's lines, in a row, all indented alike?
local function excerpt_of(b, of)
  local lines = {}
  for l in read(of):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  local want = {}
  for l in b.text:gmatch("([^\n]*)\n") do want[#want + 1] = l end
  for i = 1, #lines - #want + 1 do
    local indent = lines[i]:match("^(%s*)")
    if lines[i] == indent .. want[1] then
      local all = true
      for j = 2, #want do
        local have = lines[i + j - 1]
        if not (have == indent .. want[j] or (want[j] == "" and have:find("^%s*$"))) then all = false break end
      end
      if all then return true end
    end
  end
  return false
end

local BLOCKS = all_blocks()

describe("the docs' code blocks", function()
  local root, lua, build
  setup(function()
    root = support.sh("pwd"):gsub("%s+$", "")
    lua = os.getenv("MISTRALAI_TEST_LUA") or "lua5.4"
    build = "build/" .. lua  -- the code as a user runs it: the regular build, no sanitizer runtime
  end)

  -- A fresh folder for block b with the files it names; and the variables every run gets.
  local function folder(b, extra)
    local dir = support.tmpdir()
    for name, content in pairs(FILES) do
      if b.text:find('"' .. name .. '"', 1, true) or (extra or ""):find('"' .. name .. '"', 1, true) then
        if name:find("/") then support.sh(("mkdir -p '%s/%s'"):format(dir, name:match("^(.*)/"))) end
        support.write(dir .. "/" .. name, content)
      end
    end
    local env = ("HOME='%s' LUA_PATH='%s/lua/?.lua;%s/lua/?/init.lua;;' LUA_CPATH='%s/%s/?.so;;' "
      .. "MISTRAL_SERVER_URL='%s' MISTRAL_API_KEY='%s'"):format(dir, root, root, root, build, support.url, support.api_key)
    return dir, env
  end

  -- Runs a command in dir; returns its exit status and output (stdout and stderr).
  local function run(dir, env, command)
    local out = support.sh(("cd '%s' && env %s timeout 120 %s 2>&1 < /dev/null; echo \"status $?\"")
      :format(dir, env, command))
    return tonumber(out:match("status (%d+)\n$")), out:gsub("status %d+\n$", "")
  end

  local function fail_message(b, what, status, out)
    return ("%s: the ```%s block %s (exit %s); its output:\n%s"):format(where(b), b.lang, what, tostring(status), out)
  end

  local function uploaded_id()
    local c = support.client()
    local f = assert(c.files.upload{ file = { file_name = "doc-snippet.jsonl", content = TRAIN }, purpose = "fine-tune" })
    c:close()
    return f.id
  end

  for _, b in ipairs(BLOCKS) do
    if b.lang == "lua" and has_word(b, "fragment") then
      it(where(b) .. ": a fragment, compiles", function()
        local padded = ("\n"):rep(b.line) .. b.text  -- so errors name the doc's lines
        local _, err = loadstring(padded, "@" .. b.file)
        if err then _, err = loadstring("return " .. padded, "@" .. b.file) end  -- an expression (a plugin spec)
        assert(not err, ("%s: the ```lua fragment does not compile: %s"):format(where(b), tostring(err)))
        local excerpt = entry(EXCERPTS, b)
        if excerpt then
          assert(excerpt_of(b, excerpt.of), ("%s: the fragment is not a verbatim excerpt of %s"):format(where(b), excerpt.of))
        end
      end)
    elseif b.lang == "lua" and entry(ELSEWHERE, b) then
      local e = entry(ELSEWHERE, b)
      it(where(b) .. ": shows " .. e.same_as .. ", which " .. e.run_by .. " runs", function()
        assert(b.text == read(e.same_as), ("%s: the block is not %s as it is"):format(where(b), e.same_as))
      end)
    elseif b.lang == "lua" then
      it(where(b) .. ": runs against the local server", function()
        local around = entry(AROUND, b) or {}
        local before = (around.before or ""):gsub("%${file_id}", function() return uploaded_id() end)
        assert(not before:find("\n"), "a prelude is one line")
        local dir, env = folder(b, before)
        -- the block's first line lands on its line in the doc: one line of prelude, then blank lines
        support.write(dir .. "/snippet.lua", before .. ("\n"):rep(b.line) .. b.text .. (around.after or "") .. "\n")
        local runner = ('local f = assert(io.open("snippet.lua", "rb")) local src = f:read("*a") f:close() '
          .. 'assert((loadstring or load)(src, %q))()'):format("@" .. b.file)
        local status, out = run(dir, env, lua .. " -e " .. shell_quote(runner))
        local last = b.line + select(2, b.text:gsub("\n", ""))  -- the closing fence's line
        assert(status == 0, fail_message(b, "failed", status, out)
          .. (around.after and ("(from line %d on: this spec's checks after the block)\n"):format(last) or ""))
      end)
    elseif b.lang == "sh" and has_word(b, "run") then
      it(where(b) .. ": runs", function()
        local dir, env = folder(b)
        support.write(dir .. "/snippet.sh", b.text)
        local status, out = run(dir, ("PATH='%s/bin':\"$PATH\" %s"):format(root, env), "sh -e snippet.sh")
        assert(status == 0, fail_message(b, "failed", status, out))
      end)
    elseif b.lang == "sh" then
      it(where(b) .. ": parses (not run)", function()
        local dir = support.tmpdir()
        support.write(dir .. "/snippet.sh", b.text)
        local out = support.sh(("sh -n '%s/snippet.sh' 2>&1; echo \"status $?\""):format(dir))
        local status = tonumber(out:match("status (%d+)\n$"))
        assert(status == 0, fail_message(b, "does not parse", status, out:gsub("status %d+\n$", "")))
      end)
    end
  end

  it("every block's info string is a known language with known words", function()
    local bad = {}
    for _, b in ipairs(BLOCKS) do
      if b.lang == "" then bad[#bad + 1] = where(b) .. ": no language" end
      for _, w in ipairs(b.words) do
        if not (WORDS[b.lang] and WORDS[b.lang][w]) then bad[#bad + 1] = where(b) .. ": unknown word " .. w end
      end
    end
    assert.same({}, bad)
  end)

  it("the nginx configuration shown is the shipped file, or a fragment of it", function()
    local bad = {}
    for _, b in ipairs(BLOCKS) do
      if b.lang == "nginx" and b.text ~= read("examples/openresty/nginx.conf")
        and not (has_word(b, "fragment") and excerpt_of(b, "examples/openresty/nginx.conf")) then
        bad[#bad + 1] = where(b)
      end
    end
    assert.same({}, bad)
  end)

  it("every entry of this spec's tables names a block of the docs", function()
    local stale = {}
    for _, list in ipairs({ AROUND, ELSEWHERE, EXCERPTS }) do
      for _, e in ipairs(list) do
        local found = false
        for _, b in ipairs(BLOCKS) do
          if e.file == b.file and e.first == first_line(b) then found = true end
        end
        if not found then stale[#stale + 1] = e.file .. ": no block starts with " .. e.first end
      end
    end
    assert.same({}, stale)
  end)
end)

-- The documentation keeps up with the code: docs/api.md names every public function and option
-- (read from the modules at run time), and the README's layout table names every file of the
-- repository (as git lists them). Needs no server: run from the checkout's root.

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- The text without its fenced code blocks: names must appear in the prose and the tables.
local function prose(text)
  return (("\n" .. text):gsub("\n```.-\n```", "\n"))
end

-- The names of a set ({ name = true }) or a list ({ "name", ... }), sorted.
local function names(t)
  local out = {}
  if t[1] ~= nil then
    for _, v in ipairs(t) do out[#out + 1] = v end
  else
    for k in pairs(t) do out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

-- The operations and their option names, from files.OPERATIONS ({ { name =, options = }, ... })
-- or files.OPTIONS ({ [name] = options }), whichever the module has.
local function operations()
  local files = require("mistralai.files")
  local ops = {}
  if files.OPERATIONS then
    for _, op in ipairs(files.OPERATIONS) do ops[#ops + 1] = { name = op.name, options = names(op.options) } end
  else
    for name, set in pairs(files.OPTIONS) do ops[#ops + 1] = { name = name, options = names(set) } end
    table.sort(ops, function(a, b) return a.name < b.name end)
  end
  return ops
end

-- The module's functions (or, with want_functions false, its other fields), sorted.
local function members(module, want_functions)
  local out = {}
  for k, v in pairs(module) do
    if (type(v) == "function") == want_functions and not k:find("^__") then out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

local function headings(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    if line:find("^#+ ") then out[#out + 1] = line end
  end
  return out
end

-- Does a heading hold a code span starting with name, the name ending there ("`client:close()`")?
local function has_heading(heads, name)
  for _, h in ipairs(heads) do
    local from = 1
    while true do
      local _, e = h:find("`" .. name, from, true)
      if not e then break end
      local after = h:sub(e + 1, e + 1)
      if after == "(" or after == "`" or after == "{" or after == " " then return true end
      from = e + 1
    end
  end
  return false
end

local function has_code(text, name)
  return text:find("`" .. name .. "`", 1, true) ~= nil
end

describe("docs/api.md", function()
  local api = prose(read("docs/api.md"))
  local heads = headings(api)

  it("names every option of mistralai.new", function()
    local missing = {}
    for _, name in ipairs(names(require("mistralai.client").OPTIONS)) do
      if not has_code(api, name) then missing[#missing + 1] = name end
    end
    assert.same({}, missing)
  end)

  it("names every field of the retry policy", function()
    local missing = {}
    for _, name in ipairs(names(require("mistralai.retry").defaults)) do
      if not has_code(api, name) then missing[#missing + 1] = name end
    end
    assert.same({}, missing)
  end)

  it("has a heading for every operation and names each of its options", function()
    local missing, ops = {}, operations()
    assert.is_true(#ops >= 7, "expected the operations from mistralai.files")
    for _, op in ipairs(ops) do
      if not has_heading(heads, "client.files." .. op.name) then missing[#missing + 1] = "client.files." .. op.name end
      for _, name in ipairs(op.options) do
        if not has_code(api, name) then missing[#missing + 1] = op.name .. ": " .. name end
      end
    end
    assert.same({}, missing)
  end)

  it("has a heading for every function of mistralai and every client method", function()
    local missing = {}
    local mistralai = require("mistralai")
    for _, name in ipairs(members(mistralai, true)) do
      if not has_heading(heads, "mistralai." .. name) then missing[#missing + 1] = "mistralai." .. name end
    end
    for _, name in ipairs(members(mistralai, false)) do
      if not has_code(api, "mistralai." .. name) then missing[#missing + 1] = "mistralai." .. name end
    end
    local client = mistralai.new{ api_key = "", server_url = "http://127.0.0.1:9" }
    local index = getmetatable(client).__index
    client:close()
    assert.equal("table", type(index))
    for _, name in ipairs(members(index, true)) do
      if not name:find("^_") and not has_heading(heads, "client:" .. name) then
        missing[#missing + 1] = "client:" .. name
      end
    end
    for _, name in ipairs({ "client:gather", "client:close", "mistralai.is_error", "mistralai.new" }) do
      if not has_heading(heads, name) then missing[#missing + 1] = name end
    end
    if not has_code(api, "concurrency") then missing[#missing + 1] = "gather: concurrency" end
    assert.same({}, missing)
  end)

  it("has a heading for every function of mistralai.jsonl", function()
    local missing = {}
    for _, name in ipairs(members(require("mistralai.jsonl"), true)) do
      if not (has_heading(heads, "jsonl." .. name) or has_heading(heads, "mistralai.jsonl." .. name)) then
        missing[#missing + 1] = "mistralai.jsonl." .. name
      end
    end
    assert.same({}, missing)
  end)

  it("shows examples/event_loop.lua in hosts.md as it is (the suite runs the file)", function()
    local example = read("examples/event_loop.lua")
    assert.truthy(read("docs/hosts.md"):find("```lua\n" .. example .. "```", 1, true),
      "docs/hosts.md does not show examples/event_loop.lua verbatim")
  end)

  it("points to hosts.md for the Neovim and OpenResty constructors", function()
    assert.truthy(api:find("`mistralai.nvim.new`", 1, true) or api:find("`require(\"mistralai.nvim\").new", 1, true))
    assert.truthy(api:find("`mistralai.resty.new`", 1, true) or api:find("`require(\"mistralai.resty\").new", 1, true))
    assert.truthy(api:find("(hosts.md", 1, true))
  end)
end)

-- The README's "## Layout" section: every code span in it, the folders named first in a row,
-- and for each such folder the code spans of its rows.
local function layout()
  local readme = read("README.md")
  local section = readme:match("\n## Layout\n(.-)\n## ") or readme:match("\n## Layout\n(.*)$")
  assert(section, "README.md has no '## Layout' section")
  local spans, folders = {}, {}
  for span in section:gmatch("`([^`]+)`") do spans[span] = true end
  for row in section:gmatch("[^\n]+") do
    local first, rest = row:match("^|([^|]*)|(.*)$")
    if first then
      for span in first:gmatch("`([^`]+/)`") do
        folders[span] = folders[span] or {}
        for name in rest:gmatch("`([^`]+)`") do folders[span][name] = true end
      end
    end
  end
  return spans, folders
end

-- The repository's files as git sees them: tracked and new (not ignored), and on disk.
local function repository_files()
  local p = assert(io.popen("git -c core.quotepath=off ls-files --cached --others --exclude-standard 2>/dev/null"))
  local out = p:read("*a")
  p:close()
  local files = {}
  for path in out:gmatch("[^\n]+") do
    if exists(path) then files[#files + 1] = path end
  end
  table.sort(files)
  return files
end

describe("README.md's layout table", function()
  it("names every file of the repository", function()
    local spans, folders = layout()
    local files = repository_files()
    assert.is_true(#files > 0, "git ls-files listed nothing: run the spec from the checkout's root")
    local missing = {}
    for _, path in ipairs(files) do
      local folder, base = path:match("^(.*/)([^/]+)$")
      local named = spans[path]
        or (folder and folders[folder] and folders[folder][base])
        or (folder and path:find("^fuzz/corpus/") and folders[folder])
      if not named then missing[#missing + 1] = path end
    end
    assert.same({}, missing)
  end)
end)

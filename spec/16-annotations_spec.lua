-- The LuaLS annotations (types/mistralai.lua) describe the real API: every module
-- function, client method, operation and option, and nothing that does not exist.
local support = require("support")

-- classes[name] = { fields = set, parent = name?, methods = set }
local function parse(text)
  local classes, current = {}, nil
  local locals = {}  -- local variable -> class, from "local X = {}" after a @class line
  for line in text:gmatch("[^\n]*") do
    local class, parent = line:match("^%-%-%-@class ([%w_.]+):?%s*([%w_.]*)")
    if class then
      current = { fields = {}, methods = {}, parent = parent ~= "" and parent or nil }
      classes[class] = current
    end
    local field = line:match("^%-%-%-@field ([%w_]+)%??")
    if field and current then current.fields[field] = true end
    local var = line:match("^local ([%w_]+) = {}")
    if var and current then locals[var] = current end
    local owner, method = line:match("^function ([%w_]+)[:.]([%w_]+)%(")
    if owner and locals[owner] then locals[owner].methods[method] = true end
  end
  return classes
end

local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out)
  return out
end

local function fields_of(classes, name)
  local set, class = {}, classes[name]
  while class do
    for k in pairs(class.fields) do set[k] = true end
    class = class.parent and classes[class.parent]
  end
  return set
end

describe("LuaLS annotations", function()
  local classes = parse(support.read("types/mistralai.lua"))

  it("name every module function and nothing else", function()
    local module = require("mistralai")
    local annotated = fields_of(classes, "mistralai")
    for k in pairs(classes.mistralai.methods) do annotated[k] = true end
    assert.same(keys(module), keys(annotated))
    assert.same({ "new" }, keys(require("mistralai.resty")))
    assert.same(keys(classes["mistralai.resty"].methods), keys(require("mistralai.resty")))
  end)

  it("name every client option", function()
    assert.same(keys(require("mistralai.client").OPTIONS), keys(fields_of(classes, "mistralai.ClientOptions")))
  end)

  it("name every retry field", function()
    assert.same(keys(require("mistralai.retry").defaults), keys(fields_of(classes, "mistralai.Retry")))
  end)

  it("name every client method and field", function()
    local client = support.client()
    local methods = {}
    for k, v in pairs(getmetatable(client).__index) do
      if type(v) == "function" and not k:find("^_") then methods[k] = true end
    end
    assert.same(keys(methods), keys(classes["mistralai.Client"].methods))
    assert.same(keys(client), keys(classes["mistralai.Client"].fields))
    client:close()
  end)

  it("name every operation, for the client and for Neovim", function()
    local client = support.client()
    local listed = {}
    for _, op in ipairs(require("mistralai.files").OPERATIONS) do listed[op.name] = true end
    assert.same(keys(listed), keys(client.files))
    assert.same(keys(client.files), keys(classes["mistralai.Files"].fields))
    assert.same(keys(client.files), keys(classes["mistralai.NvimFiles"].fields))
    client:close()
  end)

  it("name every option of every operation", function()
    local options = {}
    for _, op in ipairs(require("mistralai.files").OPERATIONS) do options[op.name] = op.options end
    local class_of = { upload = "mistralai.UploadOptions", list = "mistralai.ListOptions", each = "mistralai.ListOptions",
      retrieve = "mistralai.IdOptions", delete = "mistralai.IdOptions", download = "mistralai.DownloadOptions",
      get_signed_url = "mistralai.SignedUrlOptions" }
    for op, class in pairs(class_of) do
      assert.same(keys(options[op]), keys(fields_of(classes, class)), op)
    end
  end)

  it("name every field the local server's file objects have", function()
    local client = support.client()
    local f = assert(client.files.upload{ file = { file_name = "a.jsonl", content = "{}\n" }, expiry = 1 })
    local got = assert(client.files.retrieve(f.id))
    for k in pairs(got) do assert.is_true(classes["mistralai.File"].fields[k] ~= nil, k) end
    client:close()
  end)
end)

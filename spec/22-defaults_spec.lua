-- Every documented default, pinned: the values the library uses (mistralai.defaults), the same
-- values in docs/api.md, and on the wire or in behaviour where a spec sees them cheaply. (The
-- 4 MiB answer bound and the 16 MiB string bound: spec/19-hostile-servers_spec.lua; the retry
-- waits: spec/07-reliability_spec.lua.)
local mistralai = require("mistralai")
local support = require("support")

local MIB = 1024 * 1024

describe("defaults", function()
  it("the client's: connect 10 s, stall under 1024 B/s for 30 s, uploads to 512 MiB, 5 redirects, 4 MiB answers",
    function()
      assert.same({ connect_timeout_ms = 10000, stall_bytes_per_s = 1024, stall_timeout_ms = 30000,
        max_upload_bytes = 512 * MIB, max_redirects = 5, max_response_bytes = 4 * MIB }, mistralai.defaults.client)
    end)

  it("the retry policy's: 500 ms growing 1.5x to 60 s, 1 s of jitter, a one-minute budget, 429 and 5xx", function()
    assert.same({ initial_interval = 500, max_interval = 60000, exponent = 1.5, max_elapsed_time = 60000,
      jitter = 1000, retry_connection_errors = true, status_codes = { 429, 500, 502, 503, 504 },
      retry_uploads = false }, mistralai.defaults.retry)
  end)

  it("docs/api.md states each of them", function()
    local doc = support.read("docs/api.md")
    -- the default column of the table row that names `name` ("a, b | 1, 2" rows give each its own)
    local function documented(name)
      for line in doc:gmatch("[^\n]+") do
        local names, values = line:match("^| ([^|]*`" .. name .. "`[^|]*) | ([^|]+) |")
        if names then
          local i = 0
          for n in names:gmatch("`([%w_]+)`") do
            i = i + 1
            if n == name then
              local k = 0
              for v in (values:find("^`{") and values or values:gsub(",%s*", "\0")):gmatch("[^%z]+") do
                k = k + 1
                if k == i then return (v:gsub("^%s+", ""):gsub("%s+$", "")) end
              end
            end
          end
        end
      end
    end
    local function shown(v)
      if type(v) == "boolean" then return "`" .. tostring(v) .. "`" end
      if type(v) == "table" then return "`{ " .. table.concat(v, ", ") .. " }`" end
      if v >= MIB and v % MIB == 0 then return ("%d MiB"):format(v / MIB) end
      return (("%.10g"):format(v))
    end
    for _, set in ipairs({ mistralai.defaults.client, mistralai.defaults.retry }) do
      for name, value in pairs(set) do
        assert.same(shown(value), documented(name), name)
      end
    end
  end)

  describe("on the wire", function()
    local echo
    setup(function() echo = support.echo_client({ retry = false }) end)
    teardown(function() echo:close() end)

    it("list asks for page 0 of 100 with the total", function()
      local got = assert(echo.files.list())
      assert.same("/_local/echo/v1/files?include_total=true&page=0&page_size=100", got.uri)
    end)

    it("get_signed_url asks for 24 hours", function()
      local got = assert(echo.files.get_signed_url("f"))
      assert.same("/_local/echo/v1/files/f/url?expiry=24", got.uri)
    end)

    it("upload sends visibility workspace, no purpose, no expiry, the type from the name", function()
      local got = assert(echo.files.upload{ file = { file_name = "d.pdf", content = "%PDF" } })
      assert.is_true(support.has(got.body, 'name="visibility"\r\n\r\nworkspace\r\n'), got.body)
      assert.is_true(support.has(got.body, "Content-Type: application/pdf\r\n"), got.body)
      assert.is_false(support.has(got.body, 'name="purpose"'), got.body)
      assert.is_false(support.has(got.body, 'name="expiry"'), got.body)
    end)
  end)

  describe("in behaviour", function()
    local client
    setup(function() client = support.client({ retry = false }) end)
    teardown(function() client:close() end)
    before_each(function() support.reset() end)

    it("an upload of 512 MiB and one byte is refused before anything is sent; 512 MiB is not", function()
      local dir = support.tmpdir()
      support.sh(("truncate -s %d '%s/over.bin' && truncate -s %d '%s/at.bin'"):format(512 * MIB + 1, dir, 512 * MIB, dir))
      local f, err = client.files.upload{ file = dir .. "/over.bin" }
      assert.is_nil(f)
      assert.same("limit", err.kind)
      assert.same({}, support.requests())
      -- at the limit the transfer starts: its first progress call ends it
      local ok, raised = pcall(client.files.upload, { file = dir .. "/at.bin", progress = function() error("started", 0) end })
      assert.is_false(ok)
      assert.same("started", raised)
    end)

    it("follows 5 redirects, not 6", function()
      local id = assert(client.files.upload{ file = { file_name = "r.txt", content = "r" } }).id
      local here = support.url .. "/v1/files/" .. id
      support.reset()
      support.fault{ kind = "redirect", method = "GET", location = here, times = 5 }
      assert.same(id, assert(client.files.retrieve(id)).id)
      support.reset()
      support.fault{ kind = "redirect", method = "GET", location = here, times = 6 }
      local f, err = client.files.retrieve(id)
      assert.is_nil(f)
      assert.same("too_many_redirects", err.reason)
    end)
  end)
end)

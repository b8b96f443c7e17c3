-- Every operation and parameter, in both call forms, against the local server.
local support = require("support")
local json = require("mistralai.json")

describe("operations", function()
  local client, dir
  setup(function()
    client = support.client()
    dir = support.tmpdir()
  end)
  teardown(function() client:close() end)

  local function jsonl(n)
    local lines = {}
    for i = 1, n do lines[i] = ('{"messages":[{"role":"user","content":"line %d"}]}'):format(i) end
    return table.concat(lines, "\n") .. "\n"
  end

  describe("upload", function()
    it("uploads from a path and returns the API's file object", function()
      local path = support.write(dir .. "/train.jsonl", jsonl(3))
      local f, err, response = client.files.upload{ file = path, purpose = "fine-tune" }
      assert.is_nil(err)
      assert.is_string(f.id)
      assert.same("file", f.object)
      assert.same(#jsonl(3), f.bytes)
      assert.same("train.jsonl", f.filename)
      assert.same("fine-tune", f.purpose)
      assert.same(3, f.num_lines)
      assert.same("application/jsonl", f.mimetype)
      assert.same("upload", f.source)
      assert.same("workspace", f.visibility)
      assert.same("instruct", f.sample_type)
      assert.is_number(f.created_at)
      assert.is_nil(f.expires_at)          -- JSON null is simply absent
      assert.same(200, response.status)
      assert.same("application/json", response.headers["content-type"])
    end)

    it("uploads from memory, as a method call too", function()
      local f, err = client.files:upload{ file = { file_name = "mem.jsonl", content = jsonl(2) }, purpose = "batch" }
      assert.is_nil(err)
      assert.same("mem.jsonl", f.filename)
      assert.same("batch", f.purpose)
      assert.same("batch_request", f.sample_type)
      assert.same(2, f.num_lines)
      assert.same(jsonl(2), client.files.download(f.id))
    end)

    it("takes expiry, visibility and file_name", function()
      local path = support.write(dir .. "/orig.jsonl", jsonl(1))
      local f = assert(client.files.upload{ file = path, purpose = "batch", expiry = 48, visibility = "user",
        file_name = "renamed.jsonl" })
      assert.same("renamed.jsonl", f.filename)
      assert.same("user", f.visibility)
      assert.same(f.created_at + 48 * 3600, f.expires_at)
    end)

    it("sends the official SDK's multipart parts, in its order", function()
      local echo = support.echo_client()
      local path = support.write(dir .. "/train.jsonl", '{"text":"line one"}\n')
      local got = assert(echo.files.upload{ file = path, purpose = "batch", expiry = 48, visibility = "user" })
      assert.same("POST", got.method)
      assert.same("/_local/echo/v1/files", got.uri)
      local boundary = got.header:match("[Cc]ontent%-[Tt]ype: multipart/form%-data; boundary=([^\r\n]+)")
      assert.is_string(boundary)
      local expected = table.concat({
        "--" .. boundary,
        'Content-Disposition: form-data; name="file"; filename="train.jsonl"',
        "Content-Type: application/octet-stream", "", '{"text":"line one"}\n',
        "--" .. boundary, 'Content-Disposition: form-data; name="expiry"', "", "48",
        "--" .. boundary, 'Content-Disposition: form-data; name="purpose"', "", "batch",
        "--" .. boundary, 'Content-Disposition: form-data; name="visibility"', "", "user",
        "--" .. boundary .. "--", "",
      }, "\r\n")
      assert.same(expected, got.body)
      assert.matches("\r\nContent%-Length: " .. #expected .. "\r\n", got.header)
      assert.not_matches("\r\nExpect:", got.header)
      echo:close()
    end)

    it("omits purpose and expiry when not given, and always sends visibility", function()
      local echo = support.echo_client()
      local got = assert(echo.files.upload{ file = { file_name = "doc.pdf", content = "%PDF" } })
      assert.matches('name="file"; filename="doc.pdf"\r\nContent%-Type: application/pdf\r\n', got.body)
      assert.not_matches('name="purpose"', got.body)
      assert.not_matches('name="expiry"', got.body)
      assert.matches('name="visibility"\r\n\r\nworkspace\r\n', got.body)
      local got2 = assert(echo.files.upload{ file = { file_name = "x.bin", content = "" }, content_type = "application/jsonl" })
      assert.matches('filename="x.bin"\r\nContent%-Type: application/jsonl\r\n', got2.body)
      echo:close()
    end)
  end)

  describe("list", function()
    local ids = {}
    setup(function()
      for i = 1, 3 do
        local f = assert(client.files.upload{ file = { file_name = ("listed-%d.jsonl"):format(i), content = jsonl(i) },
          purpose = "batch" })
        ids[i] = f.id
      end
    end)

    it("returns a page with total, newest first", function()
      local page, err, response = client.files.list{ page = 0, page_size = 2, search = "listed-" }
      assert.is_nil(err)
      assert.same("list", page.object)
      assert.same(3, page.total)
      assert.same(2, #page.data)
      assert.same(ids[3], page.data[1].id)
      assert.same(ids[2], page.data[2].id)
      assert.same(200, response.status)
    end)

    it("applies every filter", function()
      local page = assert(client.files:list{ purpose = "batch", search = "LISTED-2", sample_type = { "batch_request" },
        source = { "upload" }, mimetypes = { "application/jsonl", "text/plain" } })
      assert.same(1, page.total)
      assert.same(ids[2], page.data[1].id)
      local none = assert(client.files.list{ search = "listed-", purpose = "ocr" })
      assert.same(0, none.total)
      assert.same({}, none.data)
      local no_total = assert(client.files.list{ search = "listed-", include_total = false })
      assert.is_nil(no_total.total)
      assert.same(3, #no_total.data)
    end)

    it("sends the official SDK's query: alphabetical, repeated keys, encodeURIComponent", function()
      local echo = support.echo_client()
      local got = assert(echo.files.list{ page = 0, page_size = 5, include_total = true,
        sample_type = { "pretrain", "instruct" }, source = { "upload" }, search = "abc", purpose = "batch",
        mimetypes = { "application/jsonl", "text/plain" } })
      assert.same("/_local/echo/v1/files?include_total=true&mimetypes=application%2Fjsonl&mimetypes=text%2Fplain"
        .. "&page=0&page_size=5&purpose=batch&sample_type=pretrain&sample_type=instruct&search=abc&source=upload", got.uri)
      local special = assert(echo.files.list{ search = "a b&c=d/\195\169,x", include_total = false, mimetypes = {} })
      assert.same("/_local/echo/v1/files?include_total=false&page=0&page_size=100&search=a%20b%26c%3Dd%2F%C3%A9%2Cx",
        special.uri)
      local defaults = assert(echo.files.list())
      assert.same("/_local/echo/v1/files?include_total=true&page=0&page_size=100", defaults.uri)
      echo:close()
    end)
  end)

  describe("each", function()
    local prefix = "iter-" .. os.time() .. "-"
    setup(function()
      for i = 1, 7 do
        assert(client.files.upload{ file = { file_name = prefix .. i .. ".txt", content = tostring(i) }, purpose = "ocr" })
      end
    end)

    it("iterates every matching file across pages", function()
      local names = {}
      for f in client.files.each{ search = prefix, page_size = 2 } do names[#names + 1] = f.filename end
      assert.same(7, #names)  -- 4 pages of 2
      assert.same(prefix .. "7.txt", names[1])
      assert.same(prefix .. "1.txt", names[7])
    end)

    it("works as a method call and stops on break", function()
      local n = 0
      for _ in client.files:each{ search = prefix, page_size = 3 } do
        n = n + 1
        if n == 4 then break end
      end
      assert.same(4, n)
    end)

    it("raises an error met mid-way, never swallowing it", function()
      local bad = support.client({ api_key = "wrong" })
      local ok, err = pcall(function()
        for _ in bad.files.each{ page_size = 2 } do end
      end)
      assert.is_false(ok)
      assert.same("http", err.kind)
      assert.same(401, err.status)
      bad:close()
    end)
  end)

  describe("by id", function()
    local f
    before_each(function()
      f = assert(client.files.upload{ file = { file_name = "one.jsonl", content = '{"a":1}\n' }, purpose = "fine-tune" })
    end)

    it("retrieves, in three call forms", function()
      for _, got in ipairs({ { client.files.retrieve(f.id) }, { client.files:retrieve(f.id) },
        { client.files.retrieve{ file_id = f.id } } }) do
        assert.is_nil(got[2])
        assert.same(f.id, got[1].id)
        assert.same(false, got[1].deleted)
        assert.same("one.jsonl", got[1].filename)
        assert.same(200, got[3].status)
      end
    end)

    it("deletes", function()
      local d, err = client.files:delete(f.id)
      assert.is_nil(err)
      assert.same({ id = f.id, object = "file", deleted = true }, d)
      local gone, err2 = client.files.retrieve(f.id)
      assert.is_nil(gone)
      assert.same(404, err2.status)
      local again = client.files.delete{ file_id = f.id }
      assert.is_nil(again)
    end)

    it("downloads to a string, a file and a sink", function()
      assert.same('{"a":1}\n', client.files.download(f.id))
      local out = dir .. "/out.jsonl"
      local ok, err, response = client.files:download(f.id, { output = out })
      assert.is_true(ok)
      assert.is_nil(err)
      assert.same("application/octet-stream", response.headers["content-type"])
      assert.same('{"a":1}\n', support.read(out))
      local chunks = {}
      assert.is_true(client.files.download{ file_id = f.id, sink = function(c) chunks[#chunks + 1] = c end })
      assert.same('{"a":1}\n', table.concat(chunks))
    end)

    it("gets a signed URL that serves the content without the key until it expires", function()
      local u, err = client.files.get_signed_url(f.id, { expiry = 1 })
      assert.is_nil(err)
      assert.matches("^http://127%.0%.0%.1:%d+/signed/", u.url)
      local sh = support.sh
      assert.same('{"a":1}\n', sh("curl -s '" .. u.url .. "'"))
      assert.same("200", sh("curl -s -o /dev/null -w '%{http_code}' '" .. u.url .. "'"))
      -- two hours later (the server's clock moved for the test), it has expired
      sh("curl -s '" .. support.url .. "/_local/clock?offset=7200' >/dev/null")
      local status = sh("curl -s -o /dev/null -w '%{http_code}' '" .. u.url .. "'")
      sh("curl -s '" .. support.url .. "/_local/clock?offset=0' >/dev/null")
      assert.same("403", status)
      -- one character of the signature changed (to another one: a "0" stays no "0")
      local bad_url = u.url:gsub("signature=(.)", function(c) return "signature=" .. (c == "0" and "1" or "0") end)
      local tampered = sh("curl -s -o /dev/null -w '%{http_code}' '" .. bad_url .. "'")
      assert.same("403", tampered)
      local default = assert(client.files:get_signed_url{ file_id = f.id })
      assert.is_string(default.url)
    end)

    it("sends the official SDK's paths and headers", function()
      local echo = support.echo_client({ headers = { ["X-Trace"] = "1" } })
      local got = assert(echo.files.retrieve("a b/c?d#e"))
      assert.same("GET", got.method)
      assert.same("/_local/echo/v1/files/a%20b%2Fc%3Fd%23e", got.uri)
      assert.is_truthy(got.header:find("\r\nAuthorization: Bearer " .. support.api_key .. "\r\n", 1, true))
      assert.matches("\r\nAccept: application/json\r\n", got.header)
      assert.matches("\r\nUser%-Agent: mistral%-client%-lua/%d+%.%d+%.%d+\r\n", got.header)
      assert.matches("\r\nX%-Trace: 1\r\n", got.header)
      local del = assert(echo.files.delete("id1", { headers = { ["X-Trace"] = "2" } }))
      assert.same("DELETE", del.method)
      assert.same("/_local/echo/v1/files/id1", del.uri)
      assert.matches("\r\nX%-Trace: 2\r\n", del.header)
      assert.not_matches("X%-Trace: 1", del.header)
      local url = assert(echo.files.get_signed_url("id1"))
      assert.same("/_local/echo/v1/files/id1/url?expiry=24", url.uri)
      local url2 = assert(echo.files.get_signed_url("id1", { expiry = 2 }))
      assert.same("/_local/echo/v1/files/id1/url?expiry=2", url2.uri)
      -- download insists on octet-stream: the echo's JSON comes back as a decode error
      local none, err = echo.files.download("id1")
      assert.is_nil(none)
      assert.same("decode", err.kind)
      local dl = json.decode(err.body)
      assert.same("/_local/echo/v1/files/id1/content", dl.uri)
      assert.matches("\r\nAccept: application/octet%-stream\r\n", dl.header)
      echo:close()
    end)
  end)
end)

-- The key stays secret, TLS is verified, redirects and proxies behave.
local mistralai = require("mistralai")
local support = require("support")

describe("security", function()
  it("debug gets one line per request and per response, Authorization redacted", function()
    local secret = "sk-debug-secret-77"
    local lines = {}
    local c = support.client({ api_key = secret, retry = false, debug = function(line) lines[#lines + 1] = line end })
    assert.is_nil(c.files.list{ page_size = 1 })  -- 401: the key is wrong
    assert.same(2, #lines)
    assert.matches("^> GET http://127%.0%.0%.1:%d+/v1/files%?include_total=true&page=0&page_size=1 | ", lines[1])
    assert.is_true(support.has(lines[1], "Authorization: [redacted]"))
    assert.is_true(support.has(lines[1], "User-Agent: mistral-client-lua/"))
    assert.matches("^< 401 GET http://127%.0%.0%.1:%d+/v1/files%?%S+ [%d.]+ ms %(attempt 1%) | ", lines[2])
    assert.is_true(support.has(lines[2], "content-type: application/json"))
    for _, line in ipairs(lines) do assert.is_false(support.has(line, secret)) end
    c:close()
  end)

  it("debug and tostring hide every credential: any header case, Proxy-Authorization, Cookie, URL passwords", function()
    local lines = {}
    local url = support.url:gsub("^http://", "http://user:url-pass-3@")
    local c = support.client({ server_url = url, retry = false, debug = function(line) lines[#lines + 1] = line end,
      headers = { AUTHORIZATION = "Bearer sk-upper-1", ["proxy-authorization"] = "Basic cHJveHktc2VjcmV0LTI=",
        Cookie = "session=cookie-4", ["X-Api-Key"] = "api-key-5", ["X-Trace"] = "shown-6" } })
    c.files.list{ page_size = 1 }
    local shown = table.concat(lines, "\n") .. "\n" .. tostring(c)
    c:close()
    for _, secret in ipairs({ "sk-upper-1", "cHJveHktc2VjcmV0LTI=", "url-pass-3", "cookie-4", "api-key-5", "user:" }) do
      assert.is_false(support.has(shown, secret), secret .. " shown in " .. shown)
    end
    for _, hidden in ipairs({ "AUTHORIZATION: [redacted]", "proxy-authorization: [redacted]", "Cookie: [redacted]",
      "X-Api-Key: [redacted]", "X-Trace: shown-6", "http://[redacted]@127.0.0.1:" }) do
      assert.is_true(support.has(shown, hidden), hidden .. " not in " .. shown)
    end
  end)

  it("debug lines name transport failures too", function()
    local lines = {}
    local c = mistralai.new{ server_url = "http://127.0.0.1:1", api_key = "k", retry = false,
      debug = function(line) lines[#lines + 1] = line end }
    c.files.list()
    assert.matches("^< network: .* GET http://127%.0%.0%.1:1/v1/files", lines[2])
    c:close()
  end)

  it("keeps its connections out of child processes", function()
    local c = support.client()
    assert(c.files.list{ page_size = 1 })  -- an open connection in the cache now
    -- the sockets a child inherits, and the TCP sockets of the machine, by inode
    local inherited = support.sh("for f in /proc/self/fd/*; do readlink $f; done")
    local open_tcp = support.tcp_inodes()
    for inode in inherited:gmatch("socket:%[(%d+)%]") do
      assert.is_nil(open_tcp[inode], "a child inherited TCP socket " .. inode)
    end
    c:close()
  end)

  describe("TLS", function()
    local server, dir
    setup(function()
      dir = support.tmpdir()
      support.sh(("openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s/key.pem' -out '%s/cert.pem' -days 2 "
        .. "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null"):format(dir, dir))
      server = require("mistralai.server").start{ tls = { cert = dir .. "/cert.pem", key = dir .. "/key.pem" } }
    end)
    teardown(function() server:stop() end)

    it("refuses a self-signed certificate by default, without retrying", function()
      local c = mistralai.new{ server_url = server.url, api_key = server.api_key }
      local page, err = c.files.list()
      assert.is_nil(page)
      assert.same("network", err.kind)
      assert.matches("certificate", err.message)
      assert.same(1, err.attempts)  -- a certificate will not get better by asking again
      c:close()
    end)

    it("accepts it with ca_file", function()
      assert.matches("^https://", server.url)
      local c = mistralai.new{ server_url = server.url, api_key = server.api_key, ca_file = dir .. "/cert.pem" }
      local f = assert(c.files.upload{ file = { file_name = "tls.txt", content = "over TLS" } })
      assert.same("over TLS", c.files.download(f.id))
      c:close()
    end)

    it("accepts it with ca_path", function()
      local cas = dir .. "/cas"
      support.sh(("mkdir '%s' && cp '%s/cert.pem' '%s/' && openssl rehash '%s'"):format(cas, dir, cas, cas))
      local c = mistralai.new{ server_url = server.url, api_key = server.api_key, ca_path = cas }
      assert(c.files.list())
      c:close()
    end)
  end)

  describe("proxy", function()
    it("sends requests through the proxy given", function()
      -- the local server answers proxy-style requests too: its echo shows the absolute URL
      local c = mistralai.new{ server_url = "http://files.invalid/_local/echo", api_key = "k", proxy = support.url }
      local got = assert(c.files.retrieve("x"))
      assert.same("GET", got.method)
      assert.matches("files%.invalid", got.header)
      c:close()
    end)

    it("follows libcurl's proxy environment when no proxy option is given", function()
      local out = support.run_lua([[
        local c = require("mistralai").new{ server_url = "http://files.invalid/_local/echo", api_key = "k" }
        local got = assert(c.files.retrieve("x"))
        io.write(got.method, " ", got.header:match("files%.invalid") or "direct")
      ]], { env = { http_proxy = support.url, no_proxy = false, NO_PROXY = false } })
      assert.same("GET files.invalid", out)
    end)

    it("does not for hosts in no_proxy", function()
      local c = mistralai.new{ server_url = "http://127.0.0.1:1", api_key = "k", retry = false,
        proxy = support.url, no_proxy = "127.0.0.1" }
      local page, err = c.files.list()
      assert.is_nil(page)
      assert.same("network", err.kind)  -- went straight to port 1, not through the proxy
      c:close()
    end)
  end)
end)

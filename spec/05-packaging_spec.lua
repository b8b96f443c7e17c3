-- The rockspec builds and installs the rock offline, and the installed rock works: its own
-- local server starts from the installed tree and a client round-trips a file through it.
local support = require("support")

describe("packaging", function()
  it("luarocks make installs a working rock", function()
    local lua = os.getenv("MISTRALAI_TEST_LUA") or "lua5.4"
    local version = lua == "luajit" and "5.1" or lua:match("%d%.%d")
    local work = support.tmpdir()
    -- a copy of the sources, since luarocks builds in the source tree
    support.sh(("git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T - | tar -xf - -C '%s'"):format(work))
    local rockspec = support.sh("ls mistralai-*.rockspec"):match("[^\n]+")
    local log = support.sh(("cd '%s' && luarocks --lua-version=%s --tree '%s/tree' make --deps-mode=none %s 2>&1")
      :format(work, version, work, rockspec))
    assert.is_true(support.has(log, "is now installed"), log)
    local script = ([[
      package.path = "%s/tree/share/lua/%s/?.lua;%s/tree/share/lua/%s/?/init.lua;" .. package.path
      package.cpath = "%s/tree/lib/lua/%s/?.so;" .. package.cpath
      local server = require("mistralai.server").start{}
      local client = require("mistralai").new{ server_url = server.url, api_key = server.api_key }
      local f = assert(client.files.upload{ file = { file_name = "p.txt", content = "packaged" } })
      local core_path  -- where the core was found (package.searchpath is 5.2+)
      for template in package.cpath:gmatch("[^;]+") do
        local candidate = template:gsub("%%?", "mistralai/core")
        if not core_path and io.open(candidate) then core_path = candidate end
      end
      io.write(assert(client.files.download(f.id)), " ", core_path)
      client:close()
      server:stop()
    ]]):format(work, version, work, version, work, version)
    local f = assert(io.open(work .. "/check.lua", "wb"))
    f:write(script)
    f:close()
    local out = support.sh(("cd / && %s '%s/check.lua' 2>&1"):format(lua, work))
    assert.same("packaged " .. work .. "/tree/lib/lua/" .. version .. "/mistralai/core.so", out)
    -- the command line comes with it, wrapped by luarocks for this Lua
    local cli = support.sh(("eval \"$(luarocks --lua-version=%s path --tree '%s/tree')\" && '%s/tree/bin/mistral-files' --version 2>&1")
      :format(version, work, work))
    assert.matches("^mistral%-files %d+%.%d+%.%d+\n$", cli)
    support.sh("rm -rf '" .. work .. "'")
  end)
end)

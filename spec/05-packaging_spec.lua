-- The rockspec builds and installs the rock offline, and the installed rock works: its own
-- local server starts from the installed tree and a client round-trips a file through it.
local support = require("support")

local lua = os.getenv("MISTRALAI_TEST_LUA") or "lua5.4"
local lua_version = lua == "luajit" and "5.1" or lua:match("%d%.%d")
local rock_version = require("mistralai.version")
local release_rockspec = "mistralai-" .. rock_version .. "-1.rockspec"

-- The rock installed into work/tree works: its own local server starts from the installed
-- tree, a client round-trips a file through it, the core comes from the tree, and the
-- command line runs.
local function check_installed(work)
  local version = lua_version
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
  assert.same("mistral-files " .. rock_version .. "\n", cli)
end

describe("packaging", function()
  it("luarocks make installs a working rock", function()
    local work = support.tmpdir()
    -- a copy of the sources, since luarocks builds in the source tree
    support.sh(("git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T - | tar -xf - -C '%s'"):format(work))
    local log = support.sh(("cd '%s' && luarocks --lua-version=%s --tree '%s/tree' make --deps-mode=none %s 2>&1")
      :format(work, lua_version, work, release_rockspec))
    assert.is_true(support.has(log, "is now installed"), log)
    check_installed(work)
    support.sh("rm -rf '" .. work .. "'")
  end)

  it("make dist packs a source rock that installs offline and works", function()
    local work = support.tmpdir()
    local src_rock = work .. "/mistralai-" .. rock_version .. "-1.src.rock"
    assert.matches("packed ", support.sh(("make -s dist DIST_DIR='%s' 2>&1"):format(work)))
    local listing = support.sh(("unzip -Z1 '%s'"):format(src_rock))
    assert.is_true(support.has(listing, release_rockspec .. "\n"), listing)
    assert.is_true(support.has(listing, "mistralai-lua/csrc/transfer.c\n"), listing)
    assert.is_false(support.has(listing, "/build/"), listing)
    -- from another folder, so nothing of the checkout is at hand; nothing to fetch either
    local log = support.sh(("cd / && luarocks --lua-version=%s --tree '%s/tree' install --deps-mode=none '%s' 2>&1")
      :format(lua_version, work, src_rock))
    assert.is_true(support.has(log, "is now installed"), log)
    check_installed(work)
    support.sh("rm -rf '" .. work .. "'")
  end)

  it("a user without root installs the source rock with --local as the README says, then runs it", function()
    local work = support.tmpdir()
    local home = work .. "/home"
    local src_rock = work .. "/mistralai-" .. rock_version .. "-1.src.rock"
    support.sh(("chmod 755 '%s' && mkdir -p '%s' && make -s dist DIST_DIR='%s' >/dev/null 2>&1"):format(work, home, work))
    -- the README's commands, in a clean environment whose HOME is the user's
    local script = support.write(work .. "/as-user.sh", ([[
      set -e
      luarocks --local --lua-version=%s install --deps-mode=none '%s' >/dev/null 2>&1
      eval "$(luarocks --local --lua-version=%s path)"
      export PATH="$HOME/.luarocks/bin:$PATH"
      mistral-files --version
      %s -e 'print(require("mistralai")._VERSION)'
    ]]):format(lua_version, src_rock, lua_version, lua))
    local as = ""
    if support.sh("id -u"):match("^0") then  -- root: the same as nobody, who owns only that HOME
      support.sh(("chown -R 65534:65534 '%s' && chmod -R a+rX '%s'"):format(home, work))
      as = "setpriv --reuid=65534 --regid=65534 --clear-groups"
    end
    local out = support.sh(("cd / && %s env -i PATH=/usr/local/bin:/usr/bin:/bin HOME='%s' sh '%s' 2>&1")
      :format(as, home, script))
    assert.same("mistral-files " .. rock_version .. "\n" .. rock_version .. "\n", out)
    assert.is_true(support.exists(home .. "/.luarocks/bin/mistral-files"))
    support.sh("rm -rf '" .. work .. "'")
  end)

  it("keeps the dev rockspec made from the release one, and both pass luarocks lint", function()
    local work = support.tmpdir()
    support.sh(("make -s rockspec ROCKSPEC_DIR='%s' >/dev/null 2>&1"):format(work))
    assert.same(support.read(release_rockspec), support.read(work .. "/" .. release_rockspec),
      "make rockspec would change " .. release_rockspec)
    assert.same(support.read("mistralai-scm-1.rockspec"), support.read(work .. "/mistralai-scm-1.rockspec"),
      "make rockspec would change mistralai-scm-1.rockspec")
    for _, rockspec in ipairs({ release_rockspec, "mistralai-scm-1.rockspec" }) do
      assert.same("", support.sh(("luarocks lint %s 2>&1"):format(rockspec)), rockspec)
    end
    local release = support.read(release_rockspec)
    assert.is_true(support.has(release, '  tag = "v' .. rock_version .. '",'))
    assert.is_nil(release:find("example%.org"), "a placeholder host")
    assert.is_true(support.has(support.read("mistralai-scm-1.rockspec"), '  branch = "main",'))
    support.sh("rm -rf '" .. work .. "'")
  end)

  it("the rockspec names every Lua module and every C source of the tree", function()
    local env = {}
    local chunk = assert(loadfile(release_rockspec))
    if setfenv then setfenv(chunk, env) else chunk = assert(load(support.read(release_rockspec), "rockspec", "t", env)) end
    chunk()
    local named, sources = {}, {}
    for module, where in pairs(env.build.modules) do
      if type(where) == "string" then named[where] = module end
    end
    for _, c in ipairs(env.build.modules["mistralai.core"].sources) do sources[c] = true end
    for path in support.sh("find lua -name '*.lua' | sort"):gmatch("[^\n]+") do
      assert.is_not_nil(named[path], path .. " is not in " .. release_rockspec)
    end
    for path in support.sh("ls csrc/*.c"):gmatch("[^\n]+") do
      assert.is_true(sources[path], path .. " is not among the core's sources in " .. release_rockspec)
    end
  end)

  it("states the version once: rockspec, changelog, User-Agent and the command line agree", function()
    assert.same("string", type(rock_version))
    assert.matches("^%d+%.%d+%.%d+$", rock_version)
    assert.same(rock_version, require("mistralai")._VERSION)
    assert.is_true(support.has(support.read(release_rockspec), 'version = "' .. rock_version .. '-1"'))
    assert.same(rock_version, support.read("CHANGELOG.md"):match("\n## (%d+%.%d+%.%d+)"))
    local c = support.echo_client()
    local got = assert(c.files.retrieve("x"))
    assert.is_true(support.has(got.header, "User-Agent: mistral-client-lua/" .. rock_version .. "\r\n"), got.header)
    c:close()
    assert.same("mistral-files " .. rock_version .. "\n",
      support.sh(("LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/%s/?.so;;' %s bin/mistral-files --version 2>&1")
        :format(lua, lua)))
  end)
end)

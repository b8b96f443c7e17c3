-- The rock inside its real hosts: headless Neovim (LuaJIT, plugin-style runtimepath) and
-- nginx with lua-nginx-module (OpenResty-style, one worker).
local support = require("support")
local unpack = table.unpack or unpack  -- luacheck: ignore 143

local function parse(text)
  local t = {}
  for k, v in text:gmatch("(%S+) ([^\n]*)\n") do t[k] = v end
  return t
end

describe("hosts", function()
  local dir
  setup(function()
    dir = support.tmpdir()
    support.sh("make --no-print-directory LUA=luajit all >/dev/null")
  end)

  it("#timing Neovim: transfers on the event loop, callbacks in the main loop, cancel", function()
    local plugin = dir .. "/plugin"
    support.sh(("mkdir -p '%s/lua' && cp -r lua/mistralai '%s/lua/' && cp build/luajit/mistralai/core.so '%s/lua/mistralai/'")
      :format(plugin, plugin, plugin))
    local size = 200 * 1024 * 1024
    local file = support.random_file(dir .. "/nvim-upload.bin", size)
    local out = dir .. "/nvim.out"
    local log = support.sh(("cd '%s' && MISTRALAI_OUT='%s' MISTRALAI_FILE='%s' MISTRALAI_FILE_SIZE=%d "
      .. "MISTRAL_SERVER_URL='%s' MISTRAL_API_KEY='%s' timeout 120 nvim --headless -u NONE -i NONE "
      .. "--cmd 'set rtp^=%s' -c 'luafile %s/spec/hosts/nvim.lua' -c 'qa!' 2>&1")
      :format(dir, out, file, size, support.url, support.api_key, plugin, support.sh("pwd"):gsub("%s+$", "")))
    local r = parse(support.read(out) or "")
    assert.same("true", r.done, log)
    assert.same("nil", r.upload_error)
    assert.same(tostring(size), r.upload_bytes)
    assert.same("true", r.in_main_loop)
    assert.same("nil", r.list_error)
    assert.same("true", r.download_ok)
    assert.same(tostring(size), r.download_bytes)
    assert.same("nil", r.cancel_result)
    assert.same("aborted", r.cancel_kind)
    assert.same("false", r.cancel_left_file)
    assert.same("bad argument #2 to 'download' (option 'stream' is not for mistralai.nvim; on_chunk or a sink is)", r.stream_refused)
    -- on_chunk: every chunk in the main loop (the editor's API works there), all bytes, in order
    assert.same(tostring(size), r.chunked_bytes)
    assert.same("true", r.chunked_in_main_loop)
    assert.same("true", r.chunked_ok)
    assert.same("aborted false", r.chunked_refused)
    assert.is_true(tonumber(r.returned_ms) < 50, "upload() returned after " .. r.returned_ms .. " ms")
    -- the timer kept ticking during the transfers (target 20 ms; a wide margin here)
    assert.is_true(tonumber(r.ticks) >= 5, "ticks " .. r.ticks)
    assert.is_true(tonumber(r.longest_gap_ms) < 100, "longest gap " .. r.longest_gap_ms .. " ms")
    -- downloading to a file: target 20 ms, 9-14 ms measured with the adapter's 8 KiB reads; with
    -- 64 KiB reads this spec saw 90-300 ms. A blocking download would not tick at all.
    assert.is_true(tonumber(r.download_ticks) >= 3, "ticks " .. r.download_ticks)
    assert.is_true(tonumber(r.download_longest_gap_ms) < 50, "longest gap " .. r.download_longest_gap_ms .. " ms")
    print(("\n  Neovim, %d MiB: longest gap %s ms uploading (%s ticks), %s ms downloading (%s ticks); blocking: %s ms gap over %s ms")
      :format(math.floor(size / 1048576), r.longest_gap_ms, r.ticks, r.download_longest_gap_ms, r.download_ticks,
        r.blocking_longest_gap_ms, r.blocking_upload_ms))
  end)

  it("#timing Neovim: a call waiting on a silent server costs the editor nothing; close and quit cancel", function()
    local plugin = dir .. "/plugin-wait"
    support.sh(("mkdir -p '%s/lua' && cp -r lua/mistralai '%s/lua/' && cp build/luajit/mistralai/core.so '%s/lua/mistralai/'")
      :format(plugin, plugin, plugin))
    local window_ms = 3000
    -- the first list waits out the measure; the close and quit calls wait until cancelled
    support.reset()
    support.fault{ kind = "stall", seconds = window_ms / 1000 + 1, times = 4, method = "GET" }
    local out = dir .. "/nvim-wait.out"
    local log = support.sh(("cd '%s' && MISTRALAI_OUT='%s' MISTRALAI_DIR='%s' MISTRALAI_WINDOW_MS=%d "
      .. "MISTRAL_SERVER_URL='%s' MISTRAL_API_KEY='%s' timeout 120 nvim --headless -u NONE -i NONE "
      .. "--cmd 'set rtp^=%s' -c 'luafile %s/spec/hosts/nvim_wait.lua' -c 'qa!' 2>&1")
      :format(dir, out, dir, window_ms, support.url, support.api_key, plugin, support.sh("pwd"):gsub("%s+$", "")))
    local r = parse(support.read(out) or "")
    assert.same("true", r.script_done, log)
    assert.same("list", r.waited_list)
    -- a 1 ms poll would cost ~3,000 wake-ups here; libcurl's own timer (its stall check, once
    -- a second) costs a few. The bench measures the figures; the spec keeps a wide margin.
    local extra_cpu = tonumber(r.wait_cpu) - tonumber(r.idle_cpu)
    local extra_wakeups = tonumber(r.wait_wakeups) - tonumber(r.idle_wakeups)
    assert.is_true(extra_cpu <= 0.05, ("waiting cost %.2f s of CPU more than idle"):format(extra_cpu))
    assert.is_true(extra_wakeups <= 100, ("waiting woke the editor %d times more than idle"):format(extra_wakeups))
    assert.same("aborted", r.closed_download)
    assert.same("aborted", r.closed_list)
    assert.same("0", r.closed_files_left)
    assert.same("aborted", r.quit_kind, "the callback of a call in flight when Neovim quits")
    print(("\n  Neovim waiting %d ms: %+.2f s CPU, %+d wake-ups against idle")
      :format(window_ms, extra_cpu, extra_wakeups))
  end)

  describe("Neovim plugin layouts: only each recipe's steps, then upload, list and download", function()
    local root = support.sh("pwd"):gsub("%s+$", "")
    -- the plugin as a manager's clone of the repository would hold it
    local function clone(into)
      support.sh(("mkdir -p '%s' && git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T - | tar -xf - -C '%s'")
        :format(into, into))
    end
    local function run_plugin(nvim_args, env)
      local out = dir .. "/plugin.out"
      os.remove(out)
      local log = support.sh(("cd '%s' && %s MISTRALAI_OUT='%s' MISTRAL_SERVER_URL='%s' MISTRAL_API_KEY='%s' "
        .. "timeout 60 nvim --headless -i NONE %s -c 'luafile %s/spec/hosts/nvim_plugin.lua' -c 'qa!' 2>&1")
        :format(dir, env or "", out, support.url, support.api_key, nvim_args, root))
      local r = parse(support.read(out) or "")
      assert.same("13", r.upload, log)
      assert.same("true", r.listed, log)
      assert.same("from a plugin", r.downloaded, log)
      assert.same("false", r.cjson_loaded, "JSON goes through vim.json inside Neovim")
    end

    it("lazy.nvim: the clone's build.lua builds the core", function()
      local plugin = dir .. "/lazy/mistralai-lua"
      clone(plugin)
      support.sh(("cd '%s' && nvim --headless -u NONE -i NONE -c 'luafile build.lua' -c 'qa!' 2>&1"):format(plugin))
      -- a Lua 5.4 cjson first on the cpath, as `eval "$(luarocks --lua-version=5.4 path)"` leaves it
      run_plugin(("-u NONE --cmd 'set rtp^=%s'"):format(plugin), "LUA_CPATH='/usr/lib/x86_64-linux-gnu/lua/5.4/?.so;;'")
    end)

    it("packer: run = 'make nvim' in the clone, loaded from pack/packer/start", function()
      local site = dir .. "/packer-site"
      local plugin = site .. "/pack/packer/start/mistralai-lua"
      clone(plugin)
      support.sh(("cd '%s' && make -s nvim >/dev/null 2>&1"):format(plugin))
      run_plugin(("-u NORC --cmd 'set packpath^=%s'"):format(site))
    end)

    it("pack/*/start by hand: git clone, make nvim", function()
      local site = dir .. "/manual-site"
      local plugin = site .. "/pack/mistralai/start/mistralai"
      clone(plugin)
      support.sh(("make -s -C '%s' nvim >/dev/null 2>&1"):format(plugin))
      run_plugin(("-u NORC --cmd 'set packpath^=%s'"):format(site))
    end)
  end)

  describe("nginx", function()
    local app, file
    local size = 128 * 1024 * 1024
    setup(function()
      local root = support.sh("pwd"):gsub("%s+$", "")
      app = require("mistralai.server").start{
        cpath = root .. "/build/luajit/?.so;/usr/lib/x86_64-linux-gnu/lua/5.1/?.so",
        path = root .. "/?.lua",
        main = "thread_pool default threads=4;",
        http = "  lua_shared_dict state 64k;",
        server = "    location = /transfer { content_by_lua_block { require('spec.hosts.resty').transfer() } }\n"
          .. "    location = /ping { content_by_lua_block { require('spec.hosts.resty').ping() } }\n"
          .. "    location = /wait { content_by_lua_block { require('spec.hosts.resty').wait() } }\n"
          .. "    location = /gone { content_by_lua_block { require('spec.hosts.resty').gone() } }\n"
          .. "    location = /cpu { content_by_lua_block { require('spec.hosts.resty').cpu() } }\n"
          .. "    location = /cancel { content_by_lua_block { require('spec.hosts.resty').cancel() } }",
      }
      file = support.random_file(dir .. "/nginx-upload.bin", size)
    end)
    teardown(function() app:stop() end)

    -- Starts a transfer in the app's single worker, then pings that worker while it runs.
    -- Returns the transfer's answer and the ping latencies (ms) seen while it was busy.
    local function transfer_and_ping(mode)
      local url = ("%s/transfer?mode=%s&file=%s&server=%s&key=%s"):format(app.url, mode, file, support.url, support.api_key)
      local transfer = support.popen("curl -sS '" .. url .. "'")
      local busy_pings, all_pings = {}, {}
      for _ = 1, 2000 do
        local answer = support.sh(("curl -sS -w ' %%{time_total}' '%s/ping'"):format(app.url))
        local state, seconds = answer:match("^(%a+)\n (%S+)$")
        all_pings[#all_pings + 1] = tonumber(seconds) * 1000
        if state == "busy" then busy_pings[#busy_pings + 1] = tonumber(seconds) * 1000 end
        -- enough seen; or idle again after the transfer; or a ping held up by a blocked worker
        if #busy_pings >= 20 or (state == "idle" and (#busy_pings > 0 or all_pings[#all_pings] > 200)) then break end
      end
      local result = transfer:read("*a")
      transfer:close()
      return result, busy_pings, all_pings
    end

    it("a cancel handle ends an operation waiting in the pump at once", function()
      support.reset()
      support.fault{ kind = "stall", seconds = 3, method = "GET", path = "/v1/files" }
      local answer = support.sh(("curl -sS '%s/cancel?server=%s&key=%s'"):format(app.url, support.url, support.api_key))
      local kind, ms = answer:match("^(%a+) (%d+)\n$")
      assert.same("aborted", kind, answer)
      assert.is_true(tonumber(ms) < 500, "returned after " .. ms .. " ms, cancelled at 200")
    end)

    it("#timing a non-blocking transfer leaves the worker answering in under 50 ms", function()
      local result, busy_pings = transfer_and_ping("resty")
      assert.same(tostring(size) .. " true", result:match("^(%d+ %a+)"), result)
      assert.is_true(#busy_pings >= 3, "pings answered during the transfer: " .. #busy_pings)
      local worst = math.max(unpack(busy_pings))
      assert.is_true(worst < 50, ("a ping took %.1f ms"):format(worst))
      assert.same(support.sha256_file(file), support.sha256_file(file .. ".back"))
      print(("\n  nginx, mistralai.resty: %d pings during a %s ms transfer of %d MiB each way, slowest %.1f ms")
        :format(#busy_pings, result:match("(%d+)\n$"), math.floor(size / 1048576), worst))
    end)

    it("#timing 100 requests waiting on a silent server cost the worker little, and it answers meanwhile", function()
      support.reset()
      support.fault{ kind = "stall", seconds = 5, times = 100, method = "GET", path = "/v1/files" }
      local query = ("server=%s&key=%s"):format(support.url, support.api_key)
      local waiting = support.popen(("for i in $(seq 100); do curl -sS '%s/wait?%s' & done; wait"):format(app.url, query))
      support.sh("sleep 1")  -- every request is in, waiting
      local cpu0 = tonumber(support.sh(("curl -sS '%s/cpu'"):format(app.url)))
      local slowest = 0
      for _ = 1, 6 do
        local seconds = tonumber(support.sh(("curl -sS -o /dev/null -w '%%{time_total}' '%s/ping'"):format(app.url)))
        slowest = math.max(slowest, seconds * 1000)
        support.sh("sleep 0.5")
      end
      local cpu = tonumber(support.sh(("curl -sS '%s/cpu'"):format(app.url))) - cpu0
      local answers = waiting:read("*a")
      waiting:close()
      local _, lists = answers:gsub("list\n", "")
      assert.same(100, lists, answers)
      -- the bench measures the figure (target: 5% of a core); a poll per request cost ~70%
      assert.is_true(cpu < 0.3, ("the worker spent %.2f s of CPU over ~3 s of waiting"):format(cpu))
      assert.is_true(slowest < 50, ("a ping took %.1f ms"):format(slowest))
      print(("\n  nginx, 100 requests waiting: %.2f s CPU over ~3 s, slowest ping %.1f ms"):format(cpu, slowest))
    end)

    it("a request that goes away while it waits has its transfer cancelled, its file removed", function()
      local c = support.client()
      local f = assert(c.files.upload{ file = { file_name = "gone.txt", content = "gone" } })
      c:close()
      support.reset()
      support.fault{ kind = "stall", seconds = 10, method = "GET" }
      local output = dir .. "/gone.out"
      assert.same("left\n", support.sh(("curl -sS '%s/gone?server=%s&key=%s&id=%s&output=%s'")
        :format(app.url, support.url, support.api_key, f.id, output)))
      local parts = function() return support.sh(("ls '%s' | grep -c '^gone.out' || true"):format(dir)) end
      assert.same("1\n", parts(), "the download's temporary file exists while it waits")
      support.sh("sleep 5")  -- the pump notices the caller is gone within 3 s or so
      assert.same("0\n", parts(), "the download was cancelled and its temporary file removed")
    end)

    it("#timing for contrast, a blocking transfer holds the worker for its whole length", function()
      local result, _, all_pings = transfer_and_ping("blocking")
      assert.same(tostring(size) .. " true", result:match("^(%d+ %a+)"), result)
      print(("\n  nginx, blocking client: slowest ping %.1f ms during a %s ms transfer")
        :format(math.max(unpack(all_pings)), result:match("(%d+)\n$")))
    end)
  end)
end)

-- examples/openresty/nginx.conf exactly as shipped, in real nginx: a relay that holds no file in
-- memory, either way, while its worker keeps answering (spec/hosts/relay.lua runs it).
describe("the OpenResty relay example", function()
  local relay, file
  local size = 200 * 1024 * 1024

  setup(function()
    support.sh("make --no-print-directory LUA=luajit all >/dev/null")
    relay = require("spec.hosts.relay").start(support.sh("pwd"):gsub("%s+$", ""), support.tmpdir(),
      support.url, support.api_key)
    file = support.random_file(relay.prefix .. "/relay.bin", size)
  end)
  teardown(function() if relay then relay.stop() end end)

  it("#timing relays a 200 MiB upload from the request body: byte-exact, the worker's RSS flat", function()
    local id, bytes, grown, slowest, answer = relay.upload(file, "relay.bin")
    assert.same(size, bytes, answer .. relay.log())
    local client = support.client()
    assert(client.files.download(id, { output = relay.prefix .. "/back.bin" }))
    client:close()
    assert.same(support.sha256_file(file), support.sha256_file(relay.prefix .. "/back.bin"))
    assert.is_true(grown <= 16, ("the worker's peak RSS grew by %.1f MiB"):format(grown))
    assert.is_true(slowest <= 20, ("a ping took %.1f ms"):format(slowest))
    print(("\n  relay upload of 200 MiB: worker RSS +%.1f MiB, slowest ping %.1f ms"):format(grown, slowest))
  end)

  it("#timing relays a 200 MiB download to a client reading at 50 MB/s: the worker's RSS flat", function()
    local client = support.client()
    local id = assert(client.files.upload{ file = file }).id
    client:close()
    local seconds, grown, slowest = relay.download(id, relay.prefix .. "/relayed.bin", "50M")
    assert.same(support.sha256_file(file), support.sha256_file(relay.prefix .. "/relayed.bin"))
    assert.is_true(seconds > 3, ("the client read 200 MiB in %.1f s: not held to 50 MB/s"):format(seconds))
    assert.is_true(grown <= 16, ("the worker's peak RSS grew by %.1f MiB"):format(grown))
    assert.is_true(slowest <= 20, ("a ping took %.1f ms"):format(slowest))
    print(("\n  relay download of 200 MiB at 50 MB/s: %.1f s, worker RSS +%.1f MiB, slowest ping %.1f ms")
      :format(seconds, grown, slowest))
  end)

  it("answers 404 for a file the API does not have", function()
    local out = support.sh(("curl -sS -w ' %%{http_code}' '%s/files/missing'"):format(relay.url))
    assert.matches("http 404.* 404$", out)
  end)
end)

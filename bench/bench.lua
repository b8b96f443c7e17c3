-- make bench: the rock (Lua 5.4 and LuaJIT), the curl program and the official TypeScript SDK,
-- side by side on the same local server and the same files, each client a process of its
-- own under /usr/bin/time. Writes bench/RESULTS.md.
--   BENCH_RUNS (default 5), BENCH_BIG_MIB (default 1024), BENCH_SKIP_TS=1
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "build/lua5.4/?.so;" .. package.cpath
local mistralai = require("mistralai")

local RUNS = tonumber(os.getenv("BENCH_RUNS")) or 5
local BIG_MIB = tonumber(os.getenv("BENCH_BIG_MIB")) or 1024
local WITH_TS = os.getenv("BENCH_SKIP_TS") == nil
local MIB = 1024 * 1024

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  p:close()
  return out
end
local function trim(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end

local server = require("mistralai.server").start{ control = true, max_file_bytes = 4 * 1024 * MIB }
local key, url = server.api_key, server.url
local work = trim(sh("mktemp -d /tmp/mistralai-bench.XXXXXX"))
local admin = mistralai.new{ server_url = url, api_key = key, max_upload_bytes = 4 * 1024 * MIB }
io.stderr:write(("bench: server %s, work in %s, %d runs\n"):format(url, work, RUNS))
-- The second server, over HTTPS and HTTP/2, and its client, once started: stopped at the end too.
local tls = {}

local function main()
-- ---- the files ----
local function make_file(name, mib)
  local path = work .. "/" .. name
  sh(("head -c %d /dev/urandom > '%s'"):format(mib * MIB, path))
  return path
end
local big = make_file("big.bin", BIG_MIB)
local mid = make_file("mid.bin", 64)
local small = {}
for i = 1, 32 do small[i] = make_file(("c32-%02d.bin"):format(i), 8) end

-- ---- running one client process ----
local ENV = {
  ["lua5.4"] = "LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/lua5.4/?.so;;'",
  luajit = "LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='build/luajit/?.so;;'",
}
local COMMON = ("MISTRAL_SERVER_URL='%s' MISTRAL_API_KEY='%s'"):format(url, key)

-- Runs a shell command under /usr/bin/time: its own "seconds" line if it printed one (the
-- workload timed inside a warm process), else the wall time; CPU seconds; peak RSS in KiB.
local function measure(cmd)
  local timefile = work .. "/time.txt"
  local out = sh(("%s /usr/bin/time -f '%%e %%U %%S %%M' -o '%s' sh -c %q"):format(COMMON, timefile, cmd))
  local f = assert(io.open(timefile))
  local wall, user, sys, rss = f:read("*a"):match("([%d.]+) ([%d.]+) ([%d.]+) (%d+)")
  f:close()
  return {
    seconds = tonumber(out:match("seconds ([%d.]+)")) or tonumber(wall),
    cpu = tonumber(user) + tonumber(sys), rss_kib = tonumber(rss), out = out,
  }
end

local function rock(lua, args) return ENV[lua] .. " " .. lua .. " bench/client.lua " .. args end
local function ts(args) return "node bench/client.mjs " .. args end
local auth = ("-H 'Authorization: Bearer %s'"):format(key)

local function clients(spec)  -- spec: { curl = cmd, rock = args?, ts = args? }
  local list = { { name = "curl", cmd = spec.curl } }
  if spec.rock then
    list[#list + 1] = { name = "rock, Lua 5.4", cmd = rock("lua5.4", spec.rock) }
    list[#list + 1] = { name = "rock, LuaJIT", cmd = rock("luajit", spec.rock) }
  end
  if WITH_TS and spec.ts then list[#list + 1] = { name = "TypeScript SDK", cmd = ts(spec.ts) } end
  return list
end

-- Deletes the files whose names have prefix (on the bench's server, or through client);
-- returns how many there were.
local function delete_uploads(prefix, client)
  client = client or admin
  local ids = {}
  for f in client.files.each{ search = prefix, page_size = 1000 } do ids[#ids + 1] = f.id end
  for _, id in ipairs(ids) do assert(client.files.delete(id)) end
  return #ids
end

local function stats(samples, key_name)
  local v = {}
  for i, s in ipairs(samples) do v[i] = s[key_name] end
  table.sort(v)
  local n = #v
  local median = n % 2 == 1 and v[(n + 1) / 2] or (v[n / 2] + v[n / 2 + 1]) / 2
  return median, v[1], v[n]
end

-- Runs every client RUNS times, interleaved so drifts of the machine hit them alike.
local function bench(title, spec, runs, after_each)
  local list = clients(spec)
  local samples = {}
  for _, c in ipairs(list) do samples[c.name] = {} end
  for r = 1, runs or RUNS do
    for _, c in ipairs(list) do
      local m = measure(c.cmd)
      if spec.check then spec.check(c.name, m) end
      local s = samples[c.name]
      s[#s + 1] = m
      if after_each then after_each(c.name, m) end
      io.stderr:write(("  %s / %s run %d: %.3f s, %.0f MiB\n"):format(title, c.name, r, m.seconds, m.rss_kib / 1024))
    end
  end
  local rows = {}
  for _, c in ipairs(list) do
    local med, lo, hi = stats(samples[c.name], "seconds")
    local cpu = stats(samples[c.name], "cpu")
    local rss = stats(samples[c.name], "rss_kib")
    rows[#rows + 1] = { name = c.name, median = med, min = lo, max = hi, cpu = cpu, rss_mib = rss / 1024 }
  end
  return { title = title, rows = rows, bytes = spec.bytes }
end

local results = {}
local function row(result, name)
  for _, r in ipairs(result.rows) do if r.name == name then return r end end
end

-- 1. upload the big file
local function drop_uploaded(_, m)
  local id = m.out:match("id ([%w-]+)") or m.out:match('"id":"([%w-]+)"')
  if id then assert(admin.files.delete(id)) end
end
results.upload = bench(("upload %d MiB"):format(BIG_MIB), {
  rock = "upload " .. big,
  curl = ("curl -sS %s -H 'Expect:' -F file=@%s -F purpose=batch -F visibility=workspace %s/v1/files"):format(auth, big, url),
  ts = "upload " .. big,
  bytes = BIG_MIB * MIB,
  check = function(name, m)
    local bytes = m.out:match("bytes (%d+)") or m.out:match('"bytes":(%d+)')
    assert(tonumber(bytes) == BIG_MIB * MIB, name .. " uploaded " .. tostring(bytes) .. " bytes: " .. m.out)
  end,
}, nil, drop_uploaded)

-- 2. download it
local stored = assert(admin.files.upload{ file = big, purpose = "batch" })
local out = work .. "/download.bin"
local expected_sum = sh("sha256sum '" .. big .. "'"):match("^%x+")
results.download = bench(("download %d MiB"):format(BIG_MIB), {
  rock = ("download %s %s"):format(stored.id, out),
  curl = ("curl -sS %s -o %s %s/v1/files/%s/content"):format(auth, out, url, stored.id),
  ts = ("download %s %s"):format(stored.id, out),
  bytes = BIG_MIB * MIB,
  check = function(name, _)
    assert(sh("sha256sum '" .. out .. "'"):match("^%x+") == expected_sum, name .. " downloaded other bytes")
    os.remove(out)
  end,
})
results.ceiling = bench("server ceiling: the same bytes to /dev/null", {
  curl = ("curl -sS %s -o /dev/null %s/v1/files/%s/content"):format(auth, url, stored.id),
  bytes = BIG_MIB * MIB,
})

-- ... and read as a download stream (rock, Lua 5.4): as fast as it comes, against to a file
local stream_samples = {}
for _ = 1, RUNS do
  local m = measure(rock("lua5.4", "stream " .. stored.id))
  assert(tonumber(m.out:match("bytes (%d+)")) == BIG_MIB * MIB, "the stream read " .. m.out)
  stream_samples[#stream_samples + 1] = m
end
local streamed = {}
streamed.median, streamed.min, streamed.max = stats(stream_samples, "seconds")

-- ... and to a file with fsync = true: what durability across a power cut costs
local synced_samples = {}
for _ = 1, RUNS do
  synced_samples[#synced_samples + 1] = measure(rock("lua5.4", ("download %s %s fsync"):format(stored.id, out)))
  os.remove(out)
end
local synced = {}
synced.median, synced.min, synced.max = stats(synced_samples, "seconds")

-- validation for fine-tuning of ~100 MiB of typical chat lines (Lua 5.4), as upload{ validate = true }
local chat_path = work .. "/chat.jsonl"
do
  local f = assert(io.open(chat_path, "wb"))
  local words = ("the quick brown fox jumps over the lazy dog and keeps on running "):rep(8)
  local size, i = 0, 0
  while size < 100 * MIB do
    i = i + 1
    local line = ('{"messages":[{"role":"system","content":"You are a helpful assistant."},'
      .. '{"role":"user","content":"Question %d: %s"},{"role":"assistant","content":"Answer %d: %s"}]}\n')
      :format(i, words, i, words)
    f:write(line)
    size = size + #line
  end
  f:close()
end
local chat_bytes = tonumber(sh("stat -c %s '" .. chat_path .. "'"))
local validate_samples = {}
for _ = 1, RUNS do validate_samples[#validate_samples + 1] = measure(rock("lua5.4", "validate " .. chat_path .. " fine-tune")) end
local validated = {}
validated.median, validated.min, validated.max = stats(validate_samples, "seconds")
os.remove(chat_path)

-- 3. 10,000 retrieves in one process (1,000 took ~50 ms here: /usr/bin/time's 10 ms steps
-- were a fifth of curl's figure)
local one = assert(admin.files.upload{ file = { file_name = "one.txt", content = "one" } })
local cfg = work .. "/retrieve.curl"
local f = assert(io.open(cfg, "w"))
for _ = 1, 10000 do f:write(('url = "%s/v1/files/%s"\noutput = "/dev/null"\n'):format(url, one.id)) end
f:close()
results.retrieve = bench("10,000 sequential retrieves", {
  rock = "retrieve " .. one.id .. " 10000",
  curl = ("curl -sS %s -K %s"):format(auth, cfg),
  ts = "retrieve " .. one.id .. " 10000",
})

-- ... and what a fresh connection per upload costs: UPLOADS uploads of 1 KiB one after another
-- in one warm process, each on a new connection (the default: uploads are not retried, so they
-- never ride a reused connection) against retry_uploads = true (they may share the open one),
-- and as many lists of one file for reference; over HTTPS/HTTP2, against a second local server
-- whose certificate a throwaway CA signed, and over plain HTTP, to show TLS's share.
local UPLOADS = 500
local pki = require("mistralai.server.pki").make(work, "bench")
tls.server = require("mistralai.server").start{ tls = { cert = pki.cert, key = pki.key, http2 = true }, control = true }
tls.admin = mistralai.new{ server_url = tls.server.url, api_key = tls.server.api_key, ca_file = pki.ca }
local connection = {
  { name = "HTTPS, HTTP/2", client = tls.admin,
    env = ("MISTRAL_SERVER_URL='%s' MISTRAL_API_KEY='%s' MISTRAL_CA_FILE='%s' "):format(tls.server.url, tls.server.api_key, pki.ca) },
  { name = "plain HTTP/1.1", client = admin, env = "" },
}
for _, over in ipairs(connection) do over.samples = { fresh = {}, reused = {}, lists = {}, difference = {} } end
for r = 1, RUNS do
  for _, over in ipairs(connection) do
    local ms = {}
    for _, mode in ipairs({ "fresh", "reused", "lists" }) do
      local m = measure(over.env .. rock("lua5.4", mode == "lists" and "lists " .. UPLOADS or ("uploads %d %s"):format(UPLOADS, mode)))
      assert(m.out:find("seconds ", 1, true), ("%s, %s failed: %s"):format(over.name, mode, m.out))
      if mode ~= "lists" then
        local n = delete_uploads("small-upload-", over.client)
        assert(n == UPLOADS + 1, ("%s, %s: %d files stored, not %d: %s"):format(over.name, mode, n, UPLOADS + 1, m.out))
      end
      ms[mode] = m.seconds / UPLOADS * 1000
      local s = over.samples[mode]
      s[#s + 1] = { ms = ms[mode] }
      io.stderr:write(("  %d uploads, %s / %s run %d: %.3f ms each\n"):format(UPLOADS, over.name, mode, r, ms[mode]))
    end
    local difference = over.samples.difference
    difference[#difference + 1] = { ms = ms.fresh - ms.reused }  -- this run's cost of a fresh connection
  end
end
for _, over in ipairs(connection) do
  for mode, samples in pairs(over.samples) do
    local med, lo, hi = stats(samples, "ms")
    over[mode] = { median = med, min = lo, max = hi }
  end
end
tls.admin:close()
tls.server:stop()

-- 4. list 10,000 files through the iterator
io.stderr:write("bench: storing 10,000 files to list\n")
for batch = 0, 9 do
  local fns = {}
  for i = 1, 1000 do
    local n = batch * 1000 + i
    fns[i] = function() return assert(admin.files.upload{ file = { file_name = ("benchlist-%05d.txt"):format(n), content = "l" } }) end
  end
  admin:gather(fns, { concurrency = 16 })
end
for _, page_size in ipairs({ 100, 1000 }) do
  local pages = work .. "/list-" .. page_size .. ".curl"
  local pf = assert(io.open(pages, "w"))
  for page = 0, 10000 // page_size do
    pf:write(('url = "%s/v1/files?include_total=false&page=%d&page_size=%d&search=benchlist-"\noutput = "/dev/null"\n')
      :format(url, page, page_size))
  end
  pf:close()
  results["list" .. page_size] = bench(("list 10,000 files, page_size %d"):format(page_size), {
    rock = "list benchlist- " .. page_size,
    curl = ("curl -sS %s -K %s"):format(auth, pages),
    ts = "list benchlist- " .. page_size,
    check = function(name, m)
      local n = m.out:match("files (%d+)")
      assert(n == nil or tonumber(n) == 10000, name .. " listed " .. tostring(n))
    end,
  })
end

-- ... and what of listing 1,000 a page is JSON decoding itself: the same 11 bodies decoded by
-- lua-cjson, and by the rock's own decoder (csrc/json.c: nulls dropped, integers made as it goes)
local bodies = {}
for page = 0, 10 do
  bodies[#bodies + 1] = ("%s/page-%d.json"):format(work, page)
  sh(("curl -sS %s -o '%s' '%s/v1/files?include_total=false&page=%d&page_size=1000&search=benchlist-'")
    :format(auth, bodies[#bodies], url, page))
end
local decoding = {}
for _, how in ipairs({ "cjson", "rock" }) do
  local samples = {}
  for _ = 1, RUNS do samples[#samples + 1] = measure(rock("lua5.4", "decode " .. how .. " " .. table.concat(bodies, " "))) end
  decoding[how] = stats(samples, "seconds")
end

-- 5. 32 concurrent uploads of 8 MiB
local parts = {}
for i, path in ipairs(small) do
  parts[i] = ("%s -H 'Expect:' -F file=@%s -F purpose=batch -o /dev/null %s/v1/files"):format(auth, path, url)
end
local curl_parallel = "curl -sS -Z --parallel-max 32 " .. table.concat(parts, " --next ")
local function drop_small(name)
  local n = 0
  for _ in admin.files.each{ search = "c32-", page_size = 100 } do n = n + 1 end
  assert(n == #small, ("%s stored %d of the %d files"):format(name or "a run", n, #small))
  delete_uploads("c32-")
end
results.concurrent = bench("32 concurrent uploads of 8 MiB", {
  rock = "concurrent " .. table.concat(small, " "),
  curl = curl_parallel,
  ts = "concurrent " .. table.concat(small, " "),
  bytes = 32 * 8 * MIB,
}, nil, drop_small)

-- ... and with 100 ms of latency per request: gather against one after another
local control = ("curl -sS '%s/_local/%%s' >/dev/null"):format(url)
sh(control:format("fault?kind=stall&seconds=0.1&times=1000000&method=POST"))
local latency = { title = "32 uploads of 8 MiB with 100 ms latency per request", rows = {} }
for _, mode in ipairs({ "sequential", "concurrent" }) do
  local samples = {}
  for _ = 1, math.max(3, math.min(RUNS, 3)) do
    samples[#samples + 1] = measure(rock("lua5.4", mode .. " " .. table.concat(small, " ")))
    drop_small(mode)
  end
  local med, lo, hi = stats(samples, "seconds")
  latency.rows[#latency.rows + 1] = { name = "rock, Lua 5.4, " .. (mode == "concurrent" and "client:gather" or "one after another"),
    median = med, min = lo, max = hi, cpu = stats(samples, "cpu"), rss_mib = stats(samples, "rss_kib") / 1024 }
end
sh(control:format("reset"))
results.latency = latency

-- 6. peak RSS against file size
local function rss_of(cmd) return measure(cmd).rss_kib / 1024 end
local memory = { baseline = rss_of(rock("lua5.4", "baseline")) }
for _, file in ipairs({ { "64 MiB", mid }, { BIG_MIB .. " MiB", big } }) do
  local up = measure(rock("lua5.4", "upload " .. file[2]))
  drop_uploaded(nil, up)
  local id = assert(admin.files.upload{ file = file[2] }).id
  local down = measure(rock("lua5.4", ("download %s %s"):format(id, out)))
  os.remove(out)
  assert(admin.files.delete(id))
  memory[#memory + 1] = { size = file[1], upload = up.rss_kib / 1024, download = down.rss_kib / 1024 }
end
-- a slow reader: a 300 MiB download stream read at 20 MB/s (15 s)
local slow_id = assert(admin.files.upload{ file = make_file("slow.bin", 300) }).id
local slow = measure(rock("lua5.4", ("stream %s %d"):format(slow_id, 20 * 1000 * 1000)))
assert(admin.files.delete(slow_id))
memory.slow_reader = slow.rss_kib / 1024
memory.slow_seconds = tonumber(slow.out:match("seconds ([%d.]+)"))

-- 7. per-request cost of the Lua + C path, counted by callgrind
local function callgrind(n)
  local file = ("%s/callgrind.%d.out"):format(work, n)
  sh(("%s %s valgrind --tool=callgrind --callgrind-out-file=%s lua5.4 bench/client.lua retrieve %s %d 2>/dev/null")
    :format(COMMON, ENV["lua5.4"], file, one.id, n))
  return file
end
local function per_function(file)
  local fns = {}
  local text = sh(("callgrind_annotate --inclusive=no --threshold=100 '%s' 2>/dev/null"):format(file))
  for ir, where in text:gmatch("\n%s*([%d,]+) %([^)]*%)%s+([^\n]+)") do
    if not where:find("PROGRAM TOTALS", 1, true) then
      fns[where] = (fns[where] or 0) + tonumber((ir:gsub(",", "")))
    end
  end
  return fns
end
local low, high = per_function(callgrind(100)), per_function(callgrind(600))
local profile, totals, by_object = {}, { all = 0, curl = 0, rest = 0 }, {}
for where, ir in pairs(high) do
  local per = (ir - (low[where] or 0)) / 500
  if per > 0 then
    local lib = where:match("%[([^%]]+)%]$") or ""
    local object = lib:match("([^/]+)$") or "?"
    by_object[object] = (by_object[object] or 0) + per
    local is_curl = lib:find("libcurl") or lib:find("libssl") or lib:find("libcrypto") or lib:find("libnghttp")
    totals.all = totals.all + per
    if is_curl then totals.curl = totals.curl + per else
      totals.rest = totals.rest + per
      profile[#profile + 1] = { where = where, per = per }
    end
  end
end
table.sort(profile, function(a, b) return a.per > b.per end)

-- ---- the report ----
local function version(cmd) return trim(sh(cmd .. " 2>&1"):match("[^\n]*")) end
local lines = {}
local function add(s) lines[#lines + 1] = s or "" end
add("# Benchmarks")
add()
add(("Run by `make bench` on %s. Each figure is the median of %d runs (min–max), one process per run, unless its table says otherwise;"):format(os.date("!%Y-%m-%d"), RUNS))
add("times are taken inside the process where warm-up matters (the rock and the SDK: the workload alone),")
add("else the process's wall time (curl). Ratios are to curl in the same run. Peak RSS and CPU are the whole")
add("process's (`/usr/bin/time`). All clients talk to the same local server (nginx + Lua) on loopback.")
add()
add("Machine: " .. trim(sh("nproc")) .. " cores, " .. trim(sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")) ..
  ", " .. trim(sh("free -g | awk '/Mem:/ {print $2}'")) .. " GiB, Linux " .. trim(sh("uname -r")) .. ".")
add("Versions: " .. table.concat({ version("lua5.4 -v"), version("luajit -v"), version("curl --version"),
  "node " .. version("node --version"), "@mistralai/mistralai " .. (WITH_TS and version("node -p \"require('./bench/node_modules/@mistralai/mistralai/package.json').version\"") or "not run"),
  version("nginx -v") }, "; ") .. ".")
add()
local function table_for(result, with_throughput)
  local curl = row(result, "curl")
  add("### " .. result.title)
  add()
  add("| client | median s | min–max s | " .. (with_throughput and "MB/s | " or "") .. "× curl's time | peak RSS MiB | CPU s |")
  add("|---|---|---|" .. (with_throughput and "---|" or "") .. "---|---|---|")
  for _, r in ipairs(result.rows) do
    add(("| %s | %.3f | %.3f–%.3f | %s%s | %.1f | %.2f |"):format(r.name, r.median, r.min, r.max,
      with_throughput and (("%.0f | "):format(result.bytes / r.median / 1e6)) or "",
      curl and ("%.2f"):format(r.median / curl.median) or "–", r.rss_mib, r.cpu))
  end
  add()
end
add("## Results")
add()
for _, k in ipairs({ "upload", "download", "ceiling" }) do table_for(results[k], true) end
for _, k in ipairs({ "retrieve", "list100", "list1000" }) do table_for(results[k], false) end
add(("Of listing 1,000 a page on Lua 5.4 (%.3f s), decoding the same 11 bodies takes %.3f s with lua-cjson"
  .. " and %.3f s with the rock's own decoder (csrc/json.c, nulls dropped and integers made as it goes), medians of %d runs.")
  :format(row(results.list1000, "rock, Lua 5.4").median, decoding.cjson, decoding.rock, RUNS))
add()
table_for(results.concurrent, true)
table_for(results.latency, false)
add(("### %d uploads of 1 KiB over HTTPS/HTTP2: fresh connection per upload"):format(UPLOADS))
add()
add("| connection | fresh connection, ms per upload | reused (`retry_uploads = true`), ms per upload | difference, ms per upload"
  .. " | `files.list{ page_size = 1 }`, ms per call | runs |")
add("|---|---|---|---|---|---|")
for _, over in ipairs(connection) do
  local function cell(fig, signed) return ((signed and "%+.2f" or "%.2f") .. " (%.2f–%.2f)"):format(fig.median, fig.min, fig.max) end
  add(("| %s | %s | %s | %s | %s | %d |"):format(over.name, cell(over.fresh), cell(over.reused), cell(over.difference, true),
    cell(over.lists), RUNS))
end
add()
add(("Rock, Lua 5.4; each run is %d uploads one after another (or %d lists) in one warm process, the six interleaved."):format(UPLOADS, UPLOADS)
  .. " By default an upload goes on a connection of its own, since uploads are not retried and so never ride a"
  .. " reused connection (libcurl re-sends a request whose reused connection dies unanswered: docs/reliability.md);"
  .. " `retry_uploads = true` lets them share the open one. The difference is the median of each run's own. The HTTPS"
  .. " server is a second local server with HTTP/2 (TLS 1.3) and a certificate from a throwaway CA (`mistralai.server.pki`);"
  .. " the plain HTTP row, the same against the bench's own server, shows what a new connection costs without TLS."
  .. " On loopback: against a distant server a new connection adds its round trips (TCP's, then TLS's).")
add()
add("### Peak RSS against file size (rock, Lua 5.4; one run each)")
add()
add(("| transfer | upload MiB | download MiB | above the baseline (%.1f MiB) |"):format(memory.baseline))
add("|---|---|---|---|")
for _, m in ipairs(memory) do
  add(("| %s | %.1f | %.1f | +%.1f / +%.1f |"):format(m.size, m.upload, m.download, m.upload - memory.baseline, m.download - memory.baseline))
end
add()
add("### Download streams, durable files, validation (rock, Lua 5.4)")
add()
add("| what | figure |")
add("|---|---|")
add(("| %d MiB read as a stream, as fast as it comes | %.3f s median of %d (%.3f–%.3f); to a file: %.3f s |")
  :format(BIG_MIB, streamed.median, RUNS, streamed.min, streamed.max, row(results.download, "rock, Lua 5.4").median))
add(("| %d MiB to a file with `fsync = true` | %.3f s median of %d (%.3f–%.3f); without: %.3f s |")
  :format(BIG_MIB, synced.median, RUNS, synced.min, synced.max, row(results.download, "rock, Lua 5.4").median))
add(("| %.0f MiB of chat lines checked for fine-tuning (`validate = true`) | %.3f s median of %d (%.3f–%.3f): %.0f MB/s |")
  :format(chat_bytes / MIB, validated.median, RUNS, validated.min, validated.max, chat_bytes / validated.median / 1e6))
add(("| 300 MiB read at 20 MB/s (spent chunks collected as it goes; one run) | %.1f s; peak RSS %.1f MiB, +%.1f above the baseline |")
  :format(memory.slow_seconds or 0, memory.slow_reader, memory.slow_reader - memory.baseline))
add()
add("### Per-request cost of `retrieve` (callgrind, instructions per call, Lua 5.4; one run)")
add()
add(("All: %.0f; in libcurl and TLS/HTTP2 libraries: %.0f; the rest (interpreter, the rock's Lua and C, cjson, libc): %.0f.")
  :format(totals.all, totals.curl, totals.rest))
add()
add("| library | instructions per retrieve |")
add("|---|---|")
local objects = {}
for object, per in pairs(by_object) do objects[#objects + 1] = { object, per } end
table.sort(objects, function(a, b) return a[2] > b[2] end)
for i = 1, math.min(8, #objects) do add(("| %s | %.0f |"):format(objects[i][1], objects[i][2])) end
add()
add("Debian's `lua5.4` is stripped, so the interpreter's own functions show as addresses; the rock's")
add("C (`core.so`, built with `-g`) and the libraries show by name.")
add()
add("| function (outside libcurl) | instructions per retrieve |")
add("|---|---|")
for i = 1, math.min(5, #profile) do add(("| `%s` | %.0f |"):format(profile[i].where, profile[i].per)) end
add()

-- targets
local function ratio(result, name) return row(result, name).median / row(result, "curl").median end
local checks, missed = {}, {}
local function target(what, ok, detail)
  checks[#checks + 1] = ("| %s | %s | %s |"):format(what, ok and "met" or "missed", detail)
  if not ok then missed[#missed + 1] = what .. ": " .. detail end
end
for _, lua in ipairs({ "rock, Lua 5.4", "rock, LuaJIT" }) do
  target(lua .. ": upload ≥ 0.9× curl's throughput", 1 / ratio(results.upload, lua) >= 0.9, ("%.2f×"):format(1 / ratio(results.upload, lua)))
  target(lua .. ": download ≥ 0.9× curl's throughput", 1 / ratio(results.download, lua) >= 0.9, ("%.2f×"):format(1 / ratio(results.download, lua)))
  target(lua .. ": 10,000 retrieves ≤ 1.3× curl's time", ratio(results.retrieve, lua) <= 1.3, ("%.2f×"):format(ratio(results.retrieve, lua)))
  if WITH_TS then
    local ts_time = row(results.retrieve, "TypeScript SDK").median
    target(lua .. ": 10,000 retrieves ≥ 4× faster than the SDK", ts_time / row(results.retrieve, lua).median >= 4,
      ("%.1f× faster"):format(ts_time / row(results.retrieve, lua).median))
  end
  target(lua .. ": 32 concurrent uploads ≤ 1.3× curl --parallel", ratio(results.concurrent, lua) <= 1.3, ("%.2f×"):format(ratio(results.concurrent, lua)))
end
local seq, conc = results.latency.rows[1].median, results.latency.rows[2].median
target("gather ≥ 5× faster than one after another at 100 ms latency", seq / conc >= 5, ("%.1f×"):format(seq / conc))
local worst = 0
for _, m in ipairs(memory) do worst = math.max(worst, m.upload - memory.baseline, m.download - memory.baseline) end
target("peak RSS ≤ 16 MiB above the baseline, for 64 MiB and " .. BIG_MIB .. " MiB alike", worst <= 16, ("+%.1f MiB at most"):format(worst))
local to_file = row(results.download, "rock, Lua 5.4").median
target("Lua 5.4: a download stream read ≥ 0.9× the throughput of a download to a file", to_file / streamed.median >= 0.9,
  ("%.2f×"):format(to_file / streamed.median))
target("a 300 MiB stream read at 20 MB/s: peak RSS ≤ 16 MiB above the baseline", memory.slow_reader - memory.baseline <= 16,
  ("+%.1f MiB"):format(memory.slow_reader - memory.baseline))
target("Lua 5.4: decoding 1,000 files a page ≤ lua-cjson's time", decoding.rock <= decoding.cjson,
  ("%.2f×"):format(decoding.rock / decoding.cjson))
target("Lua 5.4: validation for fine-tuning ≥ 60 MB/s", chat_bytes / validated.median / 1e6 >= 60,
  ("%.0f MB/s"):format(chat_bytes / validated.median / 1e6))
add("## Targets")
add()
add("| target | | measured |")
add("|---|---|---|")
for _, c in ipairs(checks) do add(c) end
add()
-- What bounds the latency target: the local server's upload rate, which no client can pass.
local up = row(results.concurrent, "curl")
local transfer = up.median
local best = (32 * 0.1 + transfer) / (0.1 + transfer)
add(("The gather target is bounded by the local server, not the client: even perfectly overlapped, the 32")
  .. (" uploads take the server's own time for 256 MiB (%.2f s with curl --parallel above), so the best ratio"):format(transfer)
  .. (" against one after another is (32 × 0.1 + %.2f) / (0.1 + %.2f) = %.1f×; `client:gather` reaches %.1f×,"):format(transfer, transfer, best, seq / conc)
  .. (" i.e. %.0f%% of what is possible. The profile of that server is its Lua multipart reader:"):format(100 * (seq / conc) / best)
  .. " `receiveuntil` matches the boundary byte by byte (about 300 MB/s here). What would close it: parse"
  .. " uploads in C (an nginx module, or letting nginx buffer the body to a file and parsing that), or"
  .. " benchmark this target with smaller files, where latency dominates.")
add()

local report = table.concat(lines, "\n")
local rf = assert(io.open("bench/RESULTS.tmp", "w"))
rf:write(report)
rf:close()
io.write(report)
return missed
end

-- The server and the work files go, whatever happened.
local ok, missed = xpcall(main, debug.traceback)
admin:close()
server:stop()
if tls.admin then tls.admin:close() end
if tls.server then tls.server:stop() end
sh("rm -rf '" .. work .. "'")
if not ok then error(missed, 0) end
if #missed > 0 then
  io.stderr:write("targets missed:\n  " .. table.concat(missed, "\n  ") .. "\n")
  os.exit(1)
end

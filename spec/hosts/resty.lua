-- Handlers of the nginx host spec (spec/12-hosts_spec.lua), run inside nginx.
--   /transfer?mode=resty|blocking&file=PATH&server=URL&key=KEY: uploads the file to the local
--      Files API server and downloads it back, through mistralai.resty or the blocking client
--   /ping: answers at once, saying whether a transfer is running in this worker
--   /wait, /gone, /cpu, /uploads: what waiting costs the worker, handlers that go away, and
--      concurrent uploads (below; make bench uses them too); /cancel: a cancel handle
local M = {}

function M.transfer()
  local args = ngx.req.get_uri_args()
  local opts = { server_url = args.server, api_key = args.key }
  local client = args.mode == "resty" and require("mistralai.resty").new(opts) or require("mistralai").new(opts)
  local state = ngx.shared.state
  state:set("busy", true)
  local started = ngx.now()
  local f, err = client.files.upload{ file = args.file, purpose = "batch" }
  local ok, derr = false, nil
  if f then ok, derr = client.files.download(f.id, { output = args.file .. ".back" }) end
  ngx.update_time()
  state:set("busy", false)
  client:close()
  ngx.say(f and f.bytes or tostring(err), " ", tostring(ok or derr), " ", ("%.0f"):format((ngx.now() - started) * 1000))
end

-- One client per worker, made at the first call, as an app would keep it at module level.
local shared
local function shared_client(args)
  shared = shared or require("mistralai.resty").new{ server_url = args.server, api_key = args.key, retry = false }
  return shared
end

--- /wait?server=URL&key=KEY: one list, answered when the Files API server answers it.
function M.wait()
  local page, err = shared_client(ngx.req.get_uri_args()).files.list{ page_size = 1 }
  ngx.say(page and page.object or tostring(err))
end

--- /cancel?server=URL&key=KEY: a list waiting on a stalled server, cancelled from another light
--- thread after 0.2 s; answers the error kind and the milliseconds until the call returned.
function M.cancel()
  local client = shared_client(ngx.req.get_uri_args())
  local handle = require("mistralai").cancel_handle()
  ngx.update_time()
  local started = ngx.now()
  local thread = ngx.thread.spawn(function() return client.files.list{ cancel = handle } end)
  ngx.sleep(0.2)
  handle:cancel()
  local _, page, err = ngx.thread.wait(thread)
  ngx.update_time()
  ngx.say(page and "listed" or err.kind, " ", ("%.0f"):format((ngx.now() - started) * 1000))
end

--- /gone?server=URL&key=KEY&id=ID&output=PATH: starts a download in a light thread, then
--- ends the request while it waits: the handler goes away, its transfer must not run on.
function M.gone()
  local args = ngx.req.get_uri_args()
  local client = shared_client(args)
  ngx.thread.spawn(function() return client.files.download(args.id, { output = args.output }) end)
  ngx.sleep(0.3)  -- the download is out, its temporary file made
  ngx.say("left")
  return ngx.exit(200)
end

--- /uploads?server=URL&key=KEY&file=PATH&n=N: N concurrent uploads of the file through the
--- worker's client (make bench compares them with a plain script's client:gather); answers
--- the seconds they took.
function M.uploads()
  local args = ngx.req.get_uri_args()
  local client = shared_client(args)
  local fns = {}
  for i = 1, tonumber(args.n) do
    fns[i] = function() return client.files.upload{ file = args.file, file_name = "bench-" .. i .. ".bin" } end
  end
  ngx.update_time()
  local started = ngx.now()
  local results = client:gather(fns, { concurrency = #fns })
  ngx.update_time()
  for _, r in ipairs(results) do if not r[1] then return ngx.say("failed: ", tostring(r[2])) end end
  ngx.say(("%.3f"):format(ngx.now() - started))
end

--- /cpu: this worker's CPU seconds so far (utime + stime).
function M.cpu()
  local f = assert(io.open("/proc/self/stat"))
  local fields = {}
  for x in f:read("*a"):gsub("^.*%) ", ""):gmatch("%S+") do fields[#fields + 1] = x end
  f:close()
  ngx.say((tonumber(fields[12]) + tonumber(fields[13])) / 100)
end

function M.ping()
  ngx.say(ngx.shared.state:get("busy") and "busy" or "idle")
end

return M

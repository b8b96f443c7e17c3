-- Handlers of the nginx host spec (spec/12-hosts_spec.lua), run inside nginx.
--   /transfer?mode=resty|blocking&file=PATH&server=URL&key=KEY: uploads the file to the local
--      Files API server and downloads it back, through mistralai.resty or the blocking client
--   /ping: answers at once, saying whether a transfer is running in this worker
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

function M.ping()
  ngx.say(ngx.shared.state:get("busy") and "busy" or "idle")
end

return M

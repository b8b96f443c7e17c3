--- The local server's test controls (run inside nginx with lua-nginx-module), on only when the
--- server is started for tests (control = true): faults queued to replace or bend the next
--- matching API responses, a journal of the API requests received, an echo of a request as
--- received, and an offset for the clock signed URLs are checked against. The API handlers
--- call the hooks on_request, fault, stream and now; with control off they change nothing.
local cjson = require("cjson.safe")

local M = {}

local enabled = false
local respond  -- the handlers' answers: send(status, body), fail(status, message, type, code), no_route()
local faults = {}    -- queued by /_local/fault, each taken by the next `times` matching requests
local requests = {}  -- arrival log of API requests, for specs that time retries
local clock_offset = 0  -- seconds added to the clock for signed URLs

--- Called by the handlers' init in each worker: on (settings.control) and their answers, which
--- the controls answer with too, so both speak the same shapes.
function M.init(on, answers)
  enabled = on == true
  respond = answers
end

local function send_json(status, value) return respond.send(status, cjson.encode(value)) end

local function take_fault(method, path)
  for i, f in ipairs(faults) do
    if (f.method == nil or f.method == method) and (f.path == nil or path:sub(1, #f.path) == f.path) then
      f.times = f.times - 1
      if f.times <= 0 then table.remove(faults, i) end
      return f
    end
  end
  return nil
end

-- Faults that replace the response; the others (truncate, trickle, content_type) are applied
-- by stream() to the normal one, and stall only delays it.
local function apply_fault(f)
  local kind = f.kind
  if kind == "status" then
    -- after_body: answer once the whole request body is in (the client has sent it all)
    if f.after_body then ngx.req.read_body() else ngx.req.discard_body() end
    if f.retry_after then ngx.header["Retry-After"] = f.retry_after end
    if f.ratelimit then ngx.header["X-RateLimit-Remaining-Req-Minute"] = "0" end
    return respond.fail(f.status or 503, "Injected fault " .. (f.status or 503), "server_error", "injected")
  elseif kind == "html" then
    ngx.req.discard_body()
    ngx.status = f.status or 502
    ngx.header["Content-Type"] = "text/html"
    ngx.print("<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>")
    return ngx.exit(ngx.status)
  elseif kind == "close" then  -- no response at all
    return ngx.exit(444)
  elseif kind == "reset_upload" then  -- closing with unread data makes the kernel send a reset
    local sock = ngx.req.socket()
    if sock then sock:receive(f.after or 65536) end
    return ngx.exit(444)
  elseif kind == "invalid_json" then
    ngx.req.discard_body()
    ngx.ctx.fault = nil
    return respond.send(200, '{"id": "x", not json')
  elseif kind == "redirect" then
    ngx.req.discard_body()
    return ngx.redirect(f.location, f.status or 302)
  elseif kind == "body" then  -- this body, as given, with this status
    ngx.req.discard_body()
    ngx.ctx.fault = nil
    return respond.send(tonumber(f.status) or 200, f.body or "")
  elseif kind == "big_body" then  -- `bytes` of body (endless without), chunked, no length
    ngx.req.discard_body()
    ngx.status = tonumber(f.status) or 200
    ngx.header["Content-Type"] = f.content_type or "application/json"
    local piece = ('"x",'):rep(16384)
    local left = tonumber(f.bytes) or math.huge
    ngx.print("[")
    while left > 0 do
      ngx.print(piece)
      left = left - #piece
      if not ngx.flush(true) then break end  -- the client went away
    end
    return ngx.exit(ngx.status)
  elseif kind == "stall" then
    ngx.sleep(f.seconds or 5)
    ngx.ctx.fault = nil
  end
  return nil
end

--- At the start of each API request: journals it and takes the first queued fault it matches.
--- A fault that answers ends the request here (ngx.exit does not return); one that bends the
--- response stays on the request for fault() and stream().
function M.on_request()
  if not enabled then return end
  ngx.update_time()
  local method, uri = ngx.req.get_method(), ngx.var.request_uri
  requests[#requests + 1] = { method = method, uri = uri, at = ngx.now(), connection = tonumber(ngx.var.connection),
    range = ngx.var.http_range }
  local f = take_fault(method, uri)
  if f then
    ngx.ctx.fault = f
    return apply_fault(f)
  end
end

--- The fault this request's response must go out bent by, through stream(); nil when none.
function M.fault()
  if not enabled then return nil end
  return ngx.ctx.fault
end

--- Sends a body of `total` bytes read by next_chunk(n), bent by the request's fault (only
--- called when fault() gave one): truncate (declare all, send `after` bytes, close), trickle
--- (`rate` bytes a second), content_type (another Content-Type); other kinds send it whole.
function M.stream(status, content_type, total, next_chunk)
  local f = ngx.ctx.fault
  ngx.status = status
  ngx.header["Content-Type"] = f.kind == "content_type" and f.content_type or content_type
  ngx.header["Content-Length"] = total
  local limit = f.kind == "truncate" and (f.after or math.floor(total / 2)) or total
  local slice = f.kind == "trickle" and math.max(1, math.floor((f.rate or 4096) / 10)) or 256 * 1024
  local sent = 0
  while sent < limit do
    local chunk = next_chunk(math.min(slice, limit - sent))
    if not chunk or chunk == "" then break end
    ngx.print(chunk)
    sent = sent + #chunk
    if f.kind == "trickle" then
      ngx.flush(true)
      ngx.sleep(0.1)
    end
  end
  if sent < total then  -- the fault cut it short: close without the rest
    ngx.flush(true)
    return ngx.exit(444)
  end
  return ngx.exit(status)
end

--- The clock signed URLs are checked against: ngx.time(), moved by /_local/clock.
function M.now() return ngx.time() + clock_offset end

--- /_local/echo/...: answers with the request as received (method, request line, raw header
--- block, body), so specs can check the exact bytes a client sends.
function M.echo()
  if not enabled then return respond.no_route() end
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  local in_file = ngx.req.get_body_file()
  if not body and in_file then
    local f = assert(io.open(in_file, "rb"))
    body = f:read("*a")
    f:close()
  end
  return send_json(200, { method = ngx.req.get_method(), uri = ngx.var.request_uri,
    header = ngx.req.raw_header(), body = body or "" })
end

--- The control endpoint:
---   /_local/clock?offset=N   moves the clock signed URLs are checked against
---   /_local/fault?kind=...   queues a fault (kind, times, method, path, status, retry_after,
---                            ratelimit, after, seconds, rate, location, content_type,
---                            after_body, bytes, body)
---   /_local/requests         the API requests received since the last reset, with times
---   /_local/reset            forgets faults, requests and the clock offset
function M.control()
  if not enabled then return respond.no_route() end
  local args = ngx.req.get_uri_args(20)
  local uri = ngx.var.uri
  if uri == "/_local/clock" then
    clock_offset = tonumber(args.offset) or 0
    return send_json(200, { offset = clock_offset })
  elseif uri == "/_local/fault" then
    faults[#faults + 1] = {
      kind = args.kind, times = tonumber(args.times) or 1, method = args.method, path = args.path,
      status = tonumber(args.status), retry_after = args.retry_after, ratelimit = args.ratelimit ~= nil,
      after = tonumber(args.after), seconds = tonumber(args.seconds), rate = tonumber(args.rate),
      location = args.location, content_type = args.content_type, after_body = args.after_body ~= nil,
      bytes = tonumber(args.bytes), body = args.body,
    }
    return send_json(200, { queued = #faults })
  elseif uri == "/_local/requests" then
    return respond.send(200, #requests == 0 and "[]" or cjson.encode(requests))
  elseif uri == "/_local/reset" then
    faults, requests, clock_offset = {}, {}, 0
    return send_json(200, { reset = true })
  end
  return respond.no_route()
end

return M

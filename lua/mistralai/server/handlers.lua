--- The local Files API server's request handlers (run inside nginx with lua-nginx-module).
--- Behaves like the Mistral Files API as documented in the project: Bearer auth, the six
--- endpoints, pagination and filters, Mistral-shaped errors, signed URLs.
local cjson = require("cjson.safe")
local multipart = require("mistralai.server.multipart")
local store = require("mistralai.server.store")

local M = {}

local settings  -- from the launcher: api_key, data_dir, max_file_bytes, secret, control
local clock_offset = 0  -- seconds added to the clock for signed URLs (test control)

local PURPOSES = { ["fine-tune"] = true, batch = true, ocr = true }
local VISIBILITIES = { workspace = true, user = true }
local SAMPLE_TYPES = { ["fine-tune"] = "instruct", batch = "batch_request", ocr = "instruct" }
local MIMETYPES = { jsonl = "application/jsonl", json = "application/json", txt = "text/plain",
  csv = "text/csv", pdf = "application/pdf", png = "image/png", jpg = "image/jpeg",
  jpeg = "image/jpeg", gif = "image/gif", webp = "image/webp", mp3 = "audio/mpeg",
  wav = "audio/wav", zip = "application/zip" }

function M.init(s)
  settings = s
  store.open(s.data_dir)
  math.randomseed(ngx.now() * 1000 + ngx.worker.pid())
end

-- Sends a body of `total` bytes read by next_chunk(), bent by the request's fault if it is
-- one that shapes a response: truncate (declare all, send `after` bytes, close), trickle
-- (`rate` bytes a second), content_type (another Content-Type).
local function stream(status, content_type, total, next_chunk)
  local f = ngx.ctx.fault
  ngx.status = status
  ngx.header["Content-Type"] = f and f.kind == "content_type" and f.content_type or content_type
  ngx.header["Content-Length"] = total
  local limit = f and f.kind == "truncate" and (f.after or math.floor(total / 2)) or total
  local slice = f and f.kind == "trickle" and math.max(1, math.floor((f.rate or 4096) / 10)) or 256 * 1024
  local sent = 0
  while sent < limit do
    local chunk = next_chunk(math.min(slice, limit - sent))
    if not chunk or chunk == "" then break end
    ngx.print(chunk)
    sent = sent + #chunk
    if f and f.kind == "trickle" then
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

local function send(status, body)
  if not ngx.ctx.fault then
    ngx.status = status
    ngx.header["Content-Type"] = "application/json"
    ngx.print(body)
    return ngx.exit(status)
  end
  local pos = 1
  return stream(status, "application/json", #body, function(n)
    local chunk = body:sub(pos, pos + n - 1)
    pos = pos + n
    return chunk
  end)
end

-- The content of a stored file: by nginx itself (sendfile), or through stream() when a fault
-- bends the response.
local function send_blob(entry)
  local id = entry.meta.id
  if not ngx.ctx.fault then return ngx.exec("/_blobs/" .. id) end
  local f = assert(io.open(store.blob_path(id), "rb"))
  return stream(200, "application/octet-stream", entry.meta.bytes, function(n) return f:read(n) end)
end

local function send_json(status, value) return send(status, cjson.encode(value)) end

--- The Mistral error shape: {"object":"error","message":...,"type":...,"param":null,"code":...}
local function fail(status, message, err_type, code)
  return send(status, '{"object":"error","message":' .. cjson.encode(message) .. ',"type":'
    .. cjson.encode(err_type) .. ',"param":null,"code":' .. cjson.encode(code) .. '}')
end

--- FastAPI's validation shape, as the API answers 422.
local function invalid(loc, msg, input)
  return send_json(422, { detail = { { type = "value_error", loc = loc, msg = msg, input = input } } })
end

local function not_found(id)
  return fail(404, "No file with id '" .. id .. "' was found", "invalid_request_file", "file_not_found")
end

local function authorised()
  local auth = ngx.var.http_authorization
  return auth ~= nil and auth == "Bearer " .. settings.api_key
end

local function uuid4()
  local b = {}
  for i = 1, 16 do b[i] = math.random(0, 255) end
  b[7] = b[7] % 16 + 64
  b[9] = b[9] % 64 + 128
  local h = {}
  for i = 1, 16 do h[i] = ("%02x"):format(b[i]) end
  local s = table.concat(h)
  return s:sub(1, 8) .. "-" .. s:sub(9, 12) .. "-" .. s:sub(13, 16) .. "-" .. s:sub(17, 20) .. "-" .. s:sub(21)
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- ---- upload ----

local function count_newlines(chunk)
  local n, pos = 0, 1
  while true do
    pos = chunk:find("\n", pos, true)
    if not pos then return n end
    n, pos = n + 1, pos + 1
  end
end

local function upload()
  local boundary = multipart.boundary(ngx.var.http_content_type)
  if not boundary then
    return fail(400, "Expected a multipart/form-data body", "invalid_request_error", "bad_content_type")
  end
  local length = tonumber(ngx.var.http_content_length)
  if not length then return fail(411, "Content-Length is required", "invalid_request_error", "length_required") end
  local max = settings.max_file_bytes
  if length > max + 65536 then
    ngx.req.discard_body()
    return fail(413, ("File too large: the limit is %d bytes"):format(max), "invalid_request_file", "file_too_large")
  end
  local sock, serr = ngx.req.socket()
  if not sock then return fail(400, "Cannot read the body: " .. tostring(serr), "invalid_request_error", "bad_body") end

  local id = uuid4()
  local partial = store.blob_path(id) .. ".part"
  local fields, file, too_large = {}, nil, false
  local ok, err = multipart.read(sock, boundary, function(h)
    if h.name == "file" and h.filename and not file then
      file = { name = h.filename, type = h["content-type"], bytes = 0, lines = 0, last = "" }
      file.out = assert(io.open(partial, "wb"))
      file.jsonl = h.filename:lower():find("%.jsonl$") ~= nil
      return function(chunk)
        if chunk == nil then return true end
        file.bytes = file.bytes + #chunk
        if file.bytes > max then too_large = true return nil, "file too large" end
        file.out:write(chunk)
        if file.jsonl then file.lines = file.lines + count_newlines(chunk) end
        file.last = chunk:sub(-1)
        return true
      end
    end
    local buf = {}
    return function(chunk)
      if chunk == nil then fields[h.name or ""] = table.concat(buf) return true end
      buf[#buf + 1] = chunk
      return #table.concat(buf) <= 65536 or nil, "field too large"
    end
  end)
  if file then file.out:close() end
  local function discard() os.remove(partial) end
  if too_large then
    discard()
    return fail(413, ("File too large: the limit is %d bytes"):format(max), "invalid_request_file", "file_too_large")
  end
  if not ok then
    discard()
    return fail(400, "Malformed multipart body: " .. err, "invalid_request_error", "bad_body")
  end
  if not file then return invalid({ "body", "file" }, "Field required", nil) end

  local purpose = fields.purpose or "fine-tune"
  if not PURPOSES[purpose] then
    discard()
    return invalid({ "body", "purpose" }, "Input should be 'fine-tune', 'batch' or 'ocr'", purpose)
  end
  local visibility = fields.visibility or "workspace"
  if not VISIBILITIES[visibility] then
    discard()
    return invalid({ "body", "visibility" }, "Input should be 'workspace' or 'user'", visibility)
  end
  local expiry = fields.expiry
  if expiry ~= nil then
    local hours = tonumber(expiry)
    if not expiry:find("^%d+$") or hours < 1 or hours > 8760 then
      discard()
      return invalid({ "body", "expiry" }, "Input should be a whole number of hours from 1 to 8760", expiry)
    end
    expiry = hours
  end
  assert(os.rename(partial, store.blob_path(id)))
  local now = ngx.time()
  local ext = file.name:lower():match("%.([^.]*)$")
  local num_lines
  if file.jsonl then num_lines = file.lines + ((file.bytes > 0 and file.last ~= "\n") and 1 or 0) end
  local meta = {
    id = id, object = "file", bytes = file.bytes, created_at = now, filename = file.name,
    purpose = purpose, sample_type = SAMPLE_TYPES[purpose], num_lines = num_lines,
    mimetype = MIMETYPES[ext] or file.type or "application/octet-stream", source = "upload",
    signature = ngx.md5(id):sub(1, 16), expires_at = expiry and (now + expiry * 3600) or nil,
    visibility = visibility,
  }
  return send(200, store.insert(meta).json)
end

-- ---- list ----

local function as_set(v)
  if v == nil then return nil end
  local s = {}
  for _, x in ipairs(type(v) == "table" and v or { v }) do s[x] = true end
  return s
end

local function whole_number(args, key, default)
  local v = args[key]
  if v == nil then return default end
  if type(v) ~= "string" or not v:find("^%d+$") then
    invalid({ "query", key }, "Input should be a valid non-negative integer", v)
  end
  return tonumber(v)
end

local function list()
  local args = ngx.req.get_uri_args(1000)
  local page = whole_number(args, "page", 0)
  local page_size = whole_number(args, "page_size", 100)
  if page_size > 10000 then invalid({ "query", "page_size" }, "Input should be at most 10000", args.page_size) end
  local include_total = args.include_total ~= "false"
  local purpose, search = args.purpose, args.search
  local sample_types, sources, mimetypes = as_set(args.sample_type), as_set(args.source), as_set(args.mimetypes)
  if type(search) == "string" then search = search:lower() end
  local keep
  if purpose or search or sample_types or sources or mimetypes then
    keep = function(m)
      return (purpose == nil or m.purpose == purpose)
        and (search == nil or m.filename:lower():find(search, 1, true) ~= nil)
        and (sample_types == nil or sample_types[m.sample_type] ~= nil)
        and (sources == nil or sources[m.source] ~= nil)
        and (mimetypes == nil or mimetypes[m.mimetype] ~= nil)
    end
  end
  local entries, total = store.page(keep, page, page_size)
  local items = {}
  for i, e in ipairs(entries) do items[i] = e.json end
  return send(200, '{"data":[' .. table.concat(items, ",") .. '],"object":"list"'
    .. (include_total and (',"total":' .. total) or "") .. "}")
end

-- ---- by id ----

local function signature(id, expires)
  local mac = ngx.hmac_sha1(settings.secret, id .. ":" .. expires)
  return (mac:gsub(".", function(c) return ("%02x"):format(c:byte()) end))
end

local function signed_url(entry)
  local args = ngx.req.get_uri_args(10)
  local expiry = args.expiry or "24"
  local hours = type(expiry) == "string" and expiry:find("^%d+$") and tonumber(expiry)
  if not hours or hours < 1 or hours > 168 then
    return invalid({ "query", "expiry" }, "Input should be a whole number of hours from 1 to 168", expiry)
  end
  local id = entry.meta.id
  local expires = ngx.time() + hours * 3600
  return send_json(200, { url = ("http://%s/signed/%s?expires=%d&signature=%s"):format(
    ngx.var.http_host, id, expires, signature(id, expires)) })
end

local function by_id(id, action)
  local method = ngx.req.get_method()
  local entry = store.get(id)
  if not entry then return not_found(id) end
  if action == nil and method == "GET" then
    return send(200, entry.json:sub(1, -2) .. ',"deleted":false}')
  elseif action == nil and method == "DELETE" then
    store.remove(id)
    return send_json(200, { id = id, object = "file", deleted = true })
  elseif action == "content" and method == "GET" then
    return send_blob(entry)
  elseif action == "url" and method == "GET" then
    return signed_url(entry)
  end
  return fail(405, "Method Not Allowed", "invalid_request_error", "method_not_allowed")
end

-- ---- faults (test control) ----

local faults = {}    -- queued by /_local/fault, each taken by the next `times` matching requests
local requests = {}  -- arrival log of API requests, for specs that time retries

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
    ngx.req.discard_body()
    if f.retry_after then ngx.header["Retry-After"] = f.retry_after end
    if f.ratelimit then ngx.header["X-RateLimit-Remaining-Req-Minute"] = "0" end
    return fail(f.status or 503, "Injected fault " .. (f.status or 503), "server_error", "injected")
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
    return send(200, '{"id": "x", not json')
  elseif kind == "redirect" then
    ngx.req.discard_body()
    return ngx.redirect(f.location, f.status or 302)
  elseif kind == "stall" then
    ngx.sleep(f.seconds or 5)
    ngx.ctx.fault = nil
  end
  return nil
end

local function control_request()
  if not settings.control then return end
  ngx.update_time()
  local method, uri = ngx.req.get_method(), ngx.var.request_uri
  requests[#requests + 1] = { method = method, uri = uri, at = ngx.now(), connection = tonumber(ngx.var.connection) }
  local f = take_fault(method, uri)
  if f then
    ngx.ctx.fault = f
    return apply_fault(f)
  end
end

--- Anything else: the gateway's answer to an unknown route.
function M.no_route()
  return fail(404, "no Route matched with those values", "invalid_request_error", "no_route")
end

--- Every /v1/files request. The path is split from the raw request line, each segment
--- percent-decoded, so an encoded "/" stays inside an id.
function M.files()
  control_request()
  if not authorised() then return send_json(401, { detail = "Unauthorized" }) end
  local path = ngx.var.request_uri:match("^[^?]*")
  local rest = path:match("^/v1/files(.*)$") or ""
  local method = ngx.req.get_method()
  if rest == "" or rest == "/" then
    if method == "GET" then return list() end
    if method == "POST" then return upload() end
    return fail(405, "Method Not Allowed", "invalid_request_error", "method_not_allowed")
  end
  local id, action = rest:match("^/([^/]+)/?([^/]*)$")
  if not id then return M.no_route() end
  return by_id(unescape(id), action ~= "" and action or nil)
end

--- /signed/<id>?expires=&signature=: the content, without the key, until it expires.
function M.signed()
  control_request()
  local id = ngx.var.uri:match("^/signed/([^/]+)$")
  local args = ngx.req.get_uri_args(10)
  local expires = tonumber(args.expires)
  if not id or not expires or type(args.signature) ~= "string" or args.signature ~= signature(id, expires) then
    return fail(403, "Invalid signature", "invalid_request_error", "invalid_signature")
  end
  if ngx.time() + clock_offset > expires then
    return fail(403, "This URL has expired", "invalid_request_error", "url_expired")
  end
  local entry = store.get(id)
  if not entry then return not_found(id) end
  return send_blob(entry)
end

--- /_local/echo/...: answers with the request as received (method, request line, raw header
--- block, body), so specs can check the exact bytes a client sends. Test control only.
function M.echo()
  if not settings.control then return M.no_route() end
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

--- Test controls, only when started with control = true:
---   /_local/clock?offset=N   moves the clock signed URLs are checked against
---   /_local/fault?kind=...   queues a fault (kind, times, method, path, status, retry_after,
---                            ratelimit, after, seconds, rate, location, content_type)
---   /_local/requests         the API requests received since the last reset, with times
---   /_local/reset            forgets faults, requests and the clock offset
function M.control()
  if not settings.control then return M.no_route() end
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
      location = args.location, content_type = args.content_type,
    }
    return send_json(200, { queued = #faults })
  elseif uri == "/_local/requests" then
    return send(200, #requests == 0 and "[]" or cjson.encode(requests))
  elseif uri == "/_local/reset" then
    faults, requests, clock_offset = {}, {}, 0
    return send_json(200, { reset = true })
  end
  return M.no_route()
end

return M

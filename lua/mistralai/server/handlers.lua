--- The local Files API server's request handlers (run inside nginx with lua-nginx-module).
--- Behaves like the Mistral Files API as documented in the project: Bearer auth, the six
--- endpoints, pagination and filters, Mistral-shaped errors, signed URLs. The test controls
--- (faults, request journal, echo, clock) are mistralai.server.control's, hooked in here.
local cjson = require("cjson.safe")
local control = require("mistralai.server.control")
local multipart = require("mistralai.server.multipart")
local store = require("mistralai.server.store")

local M = {}

local settings  -- from the launcher: api_key, data_dir, max_file_bytes, secret, control, scheme

-- THE API'S DEFAULTS, applied here and nowhere else: what the real API stores when an upload
-- leaves a field out (its documentation's defaults). The client's specs assert what it sends
-- on the wire (the echo and the journal), never what these fill in.
local API_DEFAULTS = { purpose = "fine-tune", visibility = "workspace" }

local PURPOSES = { ["fine-tune"] = true, batch = true, ocr = true }
local VISIBILITIES = { workspace = true, user = true }
local SAMPLE_TYPES = { ["fine-tune"] = "instruct", batch = "batch_request", ocr = "instruct" }
local MIMETYPES = { jsonl = "application/jsonl", json = "application/json", txt = "text/plain",
  csv = "text/csv", pdf = "application/pdf", png = "image/png", jpg = "image/jpeg",
  jpeg = "image/jpeg", gif = "image/gif", webp = "image/webp", mp3 = "audio/mpeg",
  wav = "audio/wav", zip = "application/zip" }

local function send(status, body)
  if control.fault() then  -- a test fault bends this response
    local pos = 1
    return control.stream(status, "application/json", #body, function(n)
      local chunk = body:sub(pos, pos + n - 1)
      pos = pos + n
      return chunk
    end)
  end
  ngx.status = status
  ngx.header["Content-Type"] = "application/json"
  ngx.print(body)
  return ngx.exit(status)
end

-- The content of a stored file: by nginx itself (sendfile), or through control.stream() when
-- a test fault bends the response.
local function send_blob(entry)
  local id = entry.meta.id
  if not control.fault() then return ngx.exec("/_blobs/" .. id) end
  local f = assert(io.open(store.blob_path(id), "rb"))
  return control.stream(200, "application/octet-stream", entry.meta.bytes, function(n) return f:read(n) end)
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

  local purpose = fields.purpose or API_DEFAULTS.purpose
  if not PURPOSES[purpose] then
    discard()
    return invalid({ "body", "purpose" }, "Input should be 'fine-tune', 'batch' or 'ocr'", purpose)
  end
  local visibility = fields.visibility or API_DEFAULTS.visibility
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
  local answer = store.insert(meta).json
  local f = control.fault()
  if f and f.kind == "misreport_bytes" then  -- a test fault: the answer says one byte more
    answer = answer:gsub('"bytes":%d+', '"bytes":' .. (file.bytes + 1), 1)
  end
  return send(200, answer)
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
  -- the scheme the clients reach (HTTPS when started with tls), not the request's own: over
  -- HTTP/2 the handlers hear the relay on plain HTTP
  return send_json(200, { url = ("%s://%s/signed/%s?expires=%d&signature=%s"):format(
    settings.scheme, ngx.var.http_host, id, expires, signature(id, expires)) })
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

--- In each worker, from the launcher's settings. The test controls (on when s.control) get
--- the answers below, so theirs have the API's shapes.
function M.init(s)
  settings = s
  store.open(s.data_dir)
  math.randomseed(ngx.now() * 1000 + ngx.worker.pid())
  control.init(s.control, { send = send, fail = fail, no_route = M.no_route })
end

--- Anything else: the gateway's answer to an unknown route.
function M.no_route()
  return fail(404, "no Route matched with those values", "invalid_request_error", "no_route")
end

--- Every /v1/files request. The path is split from the raw request line, each segment
--- percent-decoded, so an encoded "/" stays inside an id.
function M.files()
  control.on_request()
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
  control.on_request()
  local id = ngx.var.uri:match("^/signed/([^/]+)$")
  local args = ngx.req.get_uri_args(10)
  local expires = tonumber(args.expires)
  if not id or not expires or type(args.signature) ~= "string" or args.signature ~= signature(id, expires) then
    return fail(403, "Invalid signature", "invalid_request_error", "invalid_signature")
  end
  if control.now() > expires then
    return fail(403, "This URL has expired", "invalid_request_error", "url_expired")
  end
  local entry = store.get(id)
  if not entry then return not_found(id) end
  return send_blob(entry)
end

return M

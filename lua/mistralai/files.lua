--- The six operations of the Files API, and the page iterator. Each checks its arguments
--- (misuse raises), describes its request for mistralai.http, and decodes the answer.
--- Success returns result, nil, response ({status, headers, attempts}); failure nil, err.
local check = require("mistralai.check")
local encode = require("mistralai.encode")
local errors = require("mistralai.errors")
local http = require("mistralai.http")
local json = require("mistralai.json")

local M = {}

local function set(list)
  local s = {}
  for _, k in ipairs(list) do s[k] = true end
  return s
end

local CALL = { "timeout_ms", "headers", "retry", "cancel", "max_send_bytes_per_s", "max_recv_bytes_per_s",
  "max_response_bytes" }
local function options(extra)
  local s = set(CALL)
  for _, k in ipairs(extra) do s[k] = true end
  return s
end

local LIST = options({ "page", "page_size", "include_total", "sample_type", "source", "search",
  "purpose", "mimetypes" })
local BY_ID = options({ "file_id" })

--- The operations, in one list: each one's name and option names. It drives the client's
--- files table, the option checks, the host adapters (mistralai.nvim) and the annotation spec;
--- a new endpoint is a row here, its function below, its annotations and its CLI command.
M.OPERATIONS = {
  { name = "upload", options = options({ "file", "purpose", "expiry", "visibility", "file_name", "content_type",
    "progress", "validate" }) },
  { name = "list", options = LIST },
  { name = "each", options = LIST },
  { name = "retrieve", options = BY_ID },
  { name = "delete", options = BY_ID },
  { name = "download", options = options({ "file_id", "output", "sink", "stream", "progress", "max_string_bytes",
    "fsync", "overwrite" }) },
  { name = "get_signed_url", options = options({ "file_id", "expiry" }) },
}

local OPTIONS = {}  -- operation name -> its option set
for _, op in ipairs(M.OPERATIONS) do OPTIONS[op.name] = op.options end

local FILE_TABLE = set({ "file_name", "content", "content_type", "reader", "size", "rewind" })

local function check_call_options(fname, n, opts)
  if next(opts) == nil then return end  -- the common case, on every call
  check.integer(fname, n, opts, "timeout_ms", 1, check.MAX_COUNT)
  check.integer(fname, n, opts, "max_send_bytes_per_s", 1, check.MAX_COUNT)
  check.integer(fname, n, opts, "max_recv_bytes_per_s", 1, check.MAX_COUNT)
  check.integer(fname, n, opts, "max_response_bytes", 1, check.MAX_COUNT)
  check.headers(fname, n, opts, "headers")
  require("mistralai.retry").check(fname, n, opts.retry)
  if opts.cancel ~= nil and not require("mistralai.cancel").is_handle(opts.cancel) then
    check.argerror(fname, n, "option 'cancel' must be a handle from mistralai.cancel_handle()")
  end
end

local function response_of(res)
  return { status = res.status, headers = res.headers, attempts = res.attempts }
end

local function decoded(res)
  local v, why = json.decode(res.body)
  if type(v) ~= "table" then
    return nil, errors.new("decode", "the response is not a JSON object" .. (why and (": " .. why) or ""),
      { status = res.status, headers = res.headers, body = res.body, attempts = res.attempts })
  end
  local response = response_of(res)
  response.body = res.body  -- the answer as the server sent it (nulls and all), bounded
  return v, nil, response
end

local function json_call(ctx, spec, opts)
  spec.accept = "application/json"
  local res, err = http.call(ctx, spec, opts)
  if not res then return nil, err end
  return decoded(res)
end

-- A progress callback of the API's shape, (done, total), over the core's four counts
-- (received, to receive, sent, to send). Returns the core's callback and a function that
-- makes the final call, unless the last call already said the transfer was complete.
local function progress_of(fn, pick)
  if fn == nil then return nil, function() end end
  local last_done, last_total
  local function report(done, total)
    last_done, last_total = done, total
    return fn(done, total)
  end
  return function(...) return report(pick(...)) end,
    function(done, total)
      if done ~= last_done or total ~= last_total then report(done, total) end
    end
end

-- file_size() gives the size of the file part, known once the transfer is made.
local function upload_progress(fn, file_size)
  return progress_of(fn, function(_, _, sent, to_send)
    local size = file_size()
    local overhead = (to_send or size) - size  -- multipart framing and the other fields
    return math.max(0, math.min(size, sent - overhead)), size
  end)
end

local function download_progress(fn)
  return progress_of(fn, function(received, to_receive) return received, to_receive end)
end

--- upload{ file = path | {file_name=, content=} | {file_name=, reader=, size=, rewind?},
---         purpose?, expiry?, visibility?, file_name?, content_type?, progress?, validate?,
---         timeout_ms?, headers?, retry?, cancel? }
function M.upload(ctx, opts)
  local F = "upload"
  check.arg(F, 1, opts, "table")
  check.known(F, 1, opts, OPTIONS.upload)
  check_call_options(F, 1, opts)
  local file = opts.file
  local part = { name = "file" }
  local size  -- of the file part: the content's length, or the file's as the transfer found it
  if type(file) == "string" then
    if file == "" then check.argerror(F, 1, "option 'file' must not be empty") end
    part.path = file
    part.filename = encode.basename(file)
  elseif type(file) == "table" then
    check.known(F, 1, file, FILE_TABLE)
    if type(file.file_name) ~= "string" or file.file_name == "" then
      check.argerror(F, 1, "file.file_name must be a non-empty string")
    end
    check.one_line(F, 1, file.file_name, "file.file_name")
    check.wire_string(F, 1, file, "content_type")
    if file.reader ~= nil then
      check.option(F, 1, file, "reader", "function")
      check.option(F, 1, file, "rewind", "function")
      -- the gateway answers 411 to a body of unknown length, so the size is declared up front
      size = check.integer(F, 1, file, "size", 0, 2 ^ 53)
      if not size then check.argerror(F, 1, "file.size is required with file.reader") end
      if file.content ~= nil then check.argerror(F, 1, "file.content and file.reader exclude each other") end
      if opts.validate then check.argerror(F, 1, "validate needs the content: not with file.reader") end
      part.feed, part.size = true, size
    else
      if type(file.content) ~= "string" then check.argerror(F, 1, "file.content must be a string") end
      if file.size ~= nil or file.rewind ~= nil then
        check.argerror(F, 1, "file.size and file.rewind go with file.reader")
      end
      part.data = file.content
      size = #file.content
    end
    part.filename = file.file_name
    part.type = file.content_type
  else
    check.argerror(F, 1, "option 'file' must be a path or a table {file_name=, content= | reader=, size=}, got "
      .. type(file))
  end
  local name = check.wire_string(F, 1, opts, "file_name")
  if name == "" then check.argerror(F, 1, "option 'file_name' must not be empty") end
  part.filename = check.one_line(F, 1, name or part.filename, "the file's name")
  part.type = check.wire_string(F, 1, opts, "content_type") or part.type
    or encode.content_type(part.filename)
  local purpose = check.wire_string(F, 1, opts, "purpose")
  local visibility = check.wire_string(F, 1, opts, "visibility") or "workspace"
  local expiry = check.integer(F, 1, opts, "expiry", 1, check.MAX_COUNT)
  local progress = check.option(F, 1, opts, "progress", "function")

  local validate = check.option(F, 1, opts, "validate", "boolean")

  -- The file is opened and sized once, when the transfer is made: an over-limit or invalid
  -- file ends the call there, before anything is sent.
  local validated = false
  local function on_start(t)
    size = t:part_size(1)
    if size > ctx.max_upload_bytes then
      return errors.new("limit", ("%s is %d bytes, over the limit of %d bytes")
        :format(part.filename, size, ctx.max_upload_bytes))
    end
    if validate and not validated then  -- what the purpose needs; the API's default purpose is fine-tune
      validated = true
      local jsonl, as = require("mistralai.jsonl"), purpose or "fine-tune"
      local checked, problems
      if part.path then
        checked, problems = jsonl.check_file(part.path, as)
      else
        checked, problems = jsonl.check_string(part.data, as)
      end
      if checked == nil then return errors.new("io", "cannot read " .. tostring(problems)) end
      if problems then
        return errors.new("invalid", ("%s is not valid for purpose %s: %s"):format(part.filename, as,
          jsonl.describe(problems)), { problems = problems })
      end
    end
  end

  -- Part order as the official TypeScript SDK sends it: file, expiry, purpose, visibility.
  local parts = { part }
  if expiry then parts[#parts + 1] = { name = "expiry", data = ("%d"):format(expiry) } end
  if purpose then parts[#parts + 1] = { name = "purpose", data = purpose } end
  parts[#parts + 1] = { name = "visibility", data = visibility }
  local on_progress, finish = upload_progress(progress, function() return size end)
  local f, err, response = json_call(ctx, {
    method = "POST", path = "/v1/files", parts = parts, idempotent = false, progress = on_progress,
    on_start = on_start, reader = part.feed and { read = file.reader, size = size, rewind = file.rewind },
  }, opts)
  if f and type(f.bytes) == "number" and f.bytes ~= size then  -- the server kept other bytes than were sent
    return nil, errors.new("integrity", ("the server reports %s bytes for %s; %d were sent")
      :format(tostring(f.bytes), part.filename, size), { file_id = f.id, status = response.status,
        headers = response.headers, attempts = response.attempts })
  end
  if f then finish(size, size) end
  return f, err, response
end

local function list_query(F, opts)
  local page = check.integer(F, 1, opts, "page", 0, check.MAX_COUNT) or 0
  local page_size = check.integer(F, 1, opts, "page_size", 0, check.MAX_COUNT) or 100
  local include_total = check.option(F, 1, opts, "include_total", "boolean")
  if include_total == nil then include_total = true end
  local search = check.wire_string(F, 1, opts, "search")
  local purpose = check.wire_string(F, 1, opts, "purpose")
  local sample_type = check.string_list(F, 1, opts, "sample_type")
  local source = check.string_list(F, 1, opts, "source")
  local mimetypes = check.string_list(F, 1, opts, "mimetypes")
  -- Alphabetical, arrays as repeated keys: the official TypeScript SDK's query.
  local q = { { "include_total", tostring(include_total) } }
  for _, m in ipairs(mimetypes or {}) do q[#q + 1] = { "mimetypes", m } end
  q[#q + 1] = { "page", ("%d"):format(page) }
  q[#q + 1] = { "page_size", ("%d"):format(page_size) }
  if purpose then q[#q + 1] = { "purpose", purpose } end
  for _, s in ipairs(sample_type or {}) do q[#q + 1] = { "sample_type", s } end
  if search then q[#q + 1] = { "search", search } end
  for _, s in ipairs(source or {}) do q[#q + 1] = { "source", s } end
  return q, page, page_size
end

local function list(ctx, opts, F)
  check.arg(F, 1, opts, "table")
  check.known(F, 1, opts, OPTIONS[F])
  check_call_options(F, 1, opts)
  local q = list_query(F, opts)
  return json_call(ctx, { method = "GET", path = "/v1/files?" .. encode.query(q), idempotent = true }, opts)
end

--- list{ page?, page_size?, include_total?, sample_type?, source?, search?, purpose?, mimetypes? }
function M.list(ctx, opts)
  return list(ctx, opts or {}, "list")
end

--- each{ same filters as list; page = first page }: an iterator over every matching file,
--- fetching pages as it goes. An error mid-way is raised. On Lua 5.4 a `break` closes it
--- through the fourth (to-be-closed) value.
function M.each(ctx, opts)
  local F = "each"
  opts = opts or {}
  check.arg(F, 1, opts, "table")
  check.known(F, 1, opts, OPTIONS[F])
  check_call_options(F, 1, opts)
  local _, page, page_size = list_query(F, opts)
  if page_size == 0 then check.argerror(F, 1, "option 'page_size' must be at least 1 to iterate") end
  local query = {}
  for k, v in pairs(opts) do query[k] = v end
  if query.include_total == nil then query.include_total = false end  -- the iterator has no use for it
  local items, i, finished = nil, 0, false
  local function next_file()
    if finished then return nil end
    if items == nil or i >= #items then
      if items ~= nil and #items < page_size then finished = true return nil end
      query.page = page
      local p, err = list(ctx, query, F)
      if not p then
        finished = true
        error(err, 0)
      end
      page = page + 1
      local previous = items
      items, i = type(p.data) == "table" and p.data or {}, 0  -- whatever the server sent
      if #items == 0 then finished = true return nil end
      -- a server that ignores `page` would make this loop for ever: the same page twice ends it
      if previous and #previous == #items and type(items[1]) == "table" and type(previous[1]) == "table"
          and items[1].id == previous[1].id and items[#items].id == previous[#previous].id then
        finished = true
        local why = ("page %d repeats page %d: the server ignores `page`"):format(page - 1, page - 2)
        error(errors.new("decode", why), 0)
      end
    end
    i = i + 1
    return items[i]
  end
  local closer = setmetatable({}, { __close = function() finished, items = true, nil end })
  return next_file, nil, nil, closer
end

-- retrieve(id[, opts]) or retrieve{ file_id = id, ... }
local function id_and_options(F, a, b)
  local id, opts
  if type(a) == "table" then
    opts, id = a, a.file_id
    if id == nil then check.argerror(F, 1, "field 'file_id' is required") end
  else
    id, opts = a, b or {}
    check.arg(F, 2, opts, "table")
  end
  local n = type(a) == "table" and 1 or 2
  check.known(F, n, opts, OPTIONS[F])
  if type(id) ~= "string" then check.argerror(F, 1, "file_id must be a string, got " .. type(id)) end
  if id == "" then check.argerror(F, 1, "file_id must not be empty") end
  check.one_line(F, 1, id, "file_id")
  check_call_options(F, n, opts)
  -- Percent-encoded whole, so no id can reach another endpoint.
  return "/v1/files/" .. encode.segment(id), opts, n
end

function M.retrieve(ctx, a, b)
  local path, opts = id_and_options("retrieve", a, b)
  return json_call(ctx, { method = "GET", path = path, idempotent = true }, opts)
end

function M.delete(ctx, a, b)
  local path, opts = id_and_options("delete", a, b)
  return json_call(ctx, { method = "DELETE", path = path, idempotent = true }, opts)
end

--- download(id[, { output = path [, fsync?, overwrite?] | sink = fn | stream = true, progress? }]): the content as a
--- string, true once it is in the output file (written atomically) or given to the sink, or a
--- stream (mistralai.stream) once the body has begun.
function M.download(ctx, a, b)
  local F = "download"
  local path, opts, n = id_and_options(F, a, b)
  local output = check.option(F, n, opts, "output", "string")
  local sink = check.option(F, n, opts, "sink", "function")
  local progress = check.option(F, n, opts, "progress", "function")
  if output == "" then check.argerror(F, n, "option 'output' must not be empty") end
  local stream = check.option(F, n, opts, "stream", "boolean")
  local fsync = check.option(F, n, opts, "fsync", "boolean")
  local overwrite = check.option(F, n, opts, "overwrite", "boolean")
  if (fsync ~= nil or overwrite ~= nil) and not output then
    check.argerror(F, n, "options 'fsync' and 'overwrite' go with 'output'")
  end
  -- a download to a string is held in memory: bounded, 16 MiB unless the caller says more
  local max_string = check.integer(F, n, opts, "max_string_bytes", 1, check.MAX_COUNT) or 16 * 1024 * 1024
  if ((output and 1 or 0) + (sink and 1 or 0) + (stream and 1 or 0)) > 1 then
    check.argerror(F, n, "options 'output', 'sink' and 'stream' exclude each other")
  end
  local on_progress, finish = download_progress(progress)
  local res, err = http.call(ctx, {
    method = "GET", path = path .. "/content", accept = "application/octet-stream",
    expect_type = "application/octet-stream", idempotent = true,
    output = output, fsync = fsync, overwrite = overwrite, sink = sink, stream = stream, progress = on_progress,
    resumable = not stream,
    max_body_bytes = not (output or sink or stream) and max_string or nil,
  }, opts)
  if not res then return nil, err end
  if stream then return res.stream, nil, response_of(res) end
  finish(res.received, res.received)
  if output or sink then return true, nil, response_of(res) end
  return res.body, nil, response_of(res)
end

--- get_signed_url(id[, { expiry = hours (1-168, default 24) }]) -> { url = ... }
function M.get_signed_url(ctx, a, b)
  local F = "get_signed_url"
  local path, opts, n = id_and_options(F, a, b)
  local expiry = check.integer(F, n, opts, "expiry", 1, 168) or 24
  return json_call(ctx, {
    method = "GET", path = path .. "/url?" .. encode.query({ { "expiry", ("%d"):format(expiry) } }),
    idempotent = true,
  }, opts)
end

--- For a host whose callers run outside the client's tasks (mistralai.nvim): reading a download
--- stream from a callback would block the editor, so it refuses the option and paces chunks
--- its own way (on_chunk). args[first..last] are the call's arguments.
function M.refuse_stream(name, args, first, last, host)
  if name ~= "download" then return end
  for i = first, last do
    if type(args[i]) == "table" and args[i].stream ~= nil then
      check.argerror(name, i - first + 1, "option 'stream' is not for " .. host .. "; on_chunk or a sink is")
    end
  end
end

--- The operations bound to one client's private context, callable as files.op(...) and
--- files:op(...).
function M.bind(ctx)
  local files = {}
  for _, op in ipairs(M.OPERATIONS) do
    local fn = M[op.name]
    files[op.name] = function(first, ...)
      if first == files then return fn(ctx, ...) end
      return fn(ctx, first, ...)
    end
  end
  return files
end

return M

--- Runs one API call over the core: builds the request, waits for the transfer through the
--- client's driver (mistralai.driver: blocking, in a task, or through the host), retries what
--- may be retried, and turns every failure into an error value.
local check = require("mistralai.check")
local compat = require("mistralai.compat")
local core = require("mistralai.core")
local driver = require("mistralai.driver")
local errors = require("mistralai.errors")
local retry = require("mistralai.retry")
local resume = require("mistralai.resume")
local redact = require("mistralai.redact")
local stream = require("mistralai.stream")
local tasks = require("mistralai.tasks")
local version = require("mistralai.version")

local M = {}

local now = core.now
local USER_AGENT = "mistral-client-lua/" .. version

local function authorization(ctx)
  local key = ctx.api_key()
  if key == nil or key == "" then return nil end
  if type(key) ~= "string" then check.misuse("api_key function must return a string") end
  if key:find("[\r\n%z]") then check.misuse("api_key holds CR, LF or NUL") end
  if not key:lower():find("^bearer ") then key = "Bearer " .. key end
  return key
end

--- The header lines of a request: defaults, then the client's, then the call's headers, a
--- later name replacing an earlier one whatever its case.
local function header_lines(ctx, spec, call_headers)
  local auth = authorization(ctx)
  if ctx.headers == nil and call_headers == nil then  -- the common case: nothing to merge
    if auth then return { "Authorization: " .. auth, "Accept: " .. spec.accept, "User-Agent: " .. USER_AGENT } end
    return { "Accept: " .. spec.accept, "User-Agent: " .. USER_AGENT }
  end
  local names, values = {}, {}
  local function set(name, value)
    local k = name:lower()
    if values[k] == nil then names[#names + 1] = k end
    values[k] = name .. ": " .. value
  end
  if auth then set("Authorization", auth) end
  set("Accept", spec.accept)
  set("User-Agent", USER_AGENT)
  for _, extra in ipairs({ ctx.headers or {}, call_headers or {} }) do
    for name, value in pairs(extra) do set(name, value) end
  end
  local lines = {}
  for i, k in ipairs(names) do lines[i] = values[k] end
  return lines
end

local function redacted(lines)
  local out = {}
  for i, line in ipairs(lines) do out[i] = redact.header_line(line) end
  return table.concat(out, " | ")
end

local function response_line(spec, req, res, err, attempt)
  local head = {}
  for k, v in pairs(res.headers) do head[#head + 1] = redact.header_line(k .. ": " .. v) end
  table.sort(head)
  local what = res.error and (err.kind .. ": " .. res.error.message) or tostring(res.status)
  return ("< %s %s %s %.1f ms (attempt %d)%s"):format(what, spec.method, redact.url(req.url),
    res.seconds * 1000, attempt, #head > 0 and (" | " .. table.concat(head, " | ")) or "")
end

-- Does the response's Content-Type match what the call accepts? (Missing counts as a match,
-- parameters are ignored, as the official SDKs do.)
local function type_accepted(expected, got)
  if expected == nil or got == nil then return true end
  return got:lower():match("^%s*([^;%s]+)") == expected
end

--- The error for a finished attempt, or nil when it succeeded.
local function failure(res, spec)
  local status = res.status ~= 0 and res.status or nil
  if res.error then
    return errors.from_failure(res.error, { status = status, headers = res.headers, body = res.body })
  end
  if res.status < 200 or res.status > 299 then return errors.from_status(res) end
  if not type_accepted(spec.expect_type, res.headers["content-type"]) then
    return errors.new("decode", "unexpected Content-Type '" .. res.headers["content-type"] ..
      "' (expected " .. spec.expect_type .. ")", { status = status, headers = res.headers, body = res.body })
  end
  return nil
end

-- Gives a fed upload (spec.reader = { read, size, rewind? }) its next piece when libcurl wants
-- one. Returns an error (kind io) when the pieces do not add up to the declared size: then the
-- caller closes the transfer before the body is complete, so nothing is stored.
local function feed(t, reader, fed)
  local chunk = reader.read()
  if chunk ~= nil and type(chunk) ~= "string" then
    return errors.new("io", "file.reader returned a " .. type(chunk) .. ", not a string or nil")
  end
  local over = ("file.reader gave more than file.size (%d bytes)"):format(reader.size)
  if chunk == nil then
    if fed.taken < reader.size then
      return errors.new("io", ("file.reader ended after %d bytes; file.size is %d"):format(fed.taken, reader.size))
    end
    t:feed(nil)
  elseif fed.taken + #chunk > reader.size then
    return errors.new("io", over)
  elseif fed.taken + #chunk == reader.size then
    fed.taken = reader.size
    local extra = reader.read()  -- the last bytes go only once the reader says it has no more
    if extra ~= nil and extra ~= "" then return errors.new("io", over) end
    t:feed(chunk)
    t:feed(nil)
  elseif chunk ~= "" then
    fed.taken = fed.taken + #chunk
    t:feed(chunk)
  end
end

-- Waits for transfer t, feeding its upload from spec.reader as libcurl asks. Returns an error
-- of the reader's, with t closed; a raise in the reader closes t and raises on.
local function await(d, t, spec, fed)
  d.await(t)
  while spec.reader and t:hungry() do
    local err
    if compat.yieldable_pcall then
      local ok
      ok, err = compat.yieldable_pcall(feed, t, spec.reader, fed)
      if not ok then
        t:close()
        error(err, 0)
      end
    else  -- PUC 5.1: a reader that raises leaves t to the collector, which frees it
      err = feed(t, spec.reader, fed)
    end
    if err then
      t:close()
      return err
    end
    d.await(t)
  end
end

local function request_for(ctx, spec, opts, reuse_connection)
  return {
    method = spec.method,
    url = ctx.base .. spec.path,
    parts = spec.parts,
    output = spec.output,
    fsync = spec.fsync,
    overwrite = spec.overwrite,
    sink = spec.sink,
    stream = spec.stream,
    expect_type = spec.expect_type,
    progress = spec.progress,
    connect_timeout_ms = ctx.connect_timeout_ms,
    stall_bytes_per_s = ctx.stall_bytes_per_s,
    stall_timeout_ms = ctx.stall_timeout_ms,
    reuse_connection = reuse_connection,
    max_redirects = ctx.max_redirects,
    ca_file = ctx.ca_file,
    ca_path = ctx.ca_path,
    proxy = ctx.proxy,
    no_proxy = ctx.no_proxy,
    max_send_bytes_per_s = opts.max_send_bytes_per_s or ctx.max_send_bytes_per_s,
    max_recv_bytes_per_s = opts.max_recv_bytes_per_s or ctx.max_recv_bytes_per_s,
    read_buffer_bytes = ctx.read_buffer_bytes,
    max_body_bytes = spec.max_body_bytes or opts.max_response_bytes or ctx.max_response_bytes,
  }
end

--- Performs spec ({method, path, accept, idempotent, parts?, output?, fsync?, overwrite?, sink?, stream?, progress?,
--- expect_type?, on_start?, reader?, resumable?, max_body_bytes?, resume_from?}) with the
--- per-call opts ({timeout_ms?, headers?, retry?, cancel?, max_send_bytes_per_s?,
--- max_recv_bytes_per_s?, max_response_bytes?}).
--- spec.on_start(t), when given, sees each attempt's transfer before anything is sent, and
--- may end the call by returning an error.
--- Returns the core's result table (status, headers, body, attempts; for spec.stream, the
--- stream once the body has begun, as res.stream), or nil and an error.
--- A Lua error raised by a sink or progress callback is re-raised once the transfer is freed.
function M.call(ctx, spec, opts)
  if ctx.closed then check.misuse("the client is closed") end
  local policy = retry.merge(ctx.retry, opts.retry)
  local timeout_ms = opts.timeout_ms or ctx.timeout_ms
  local started = now()
  local deadline = timeout_ms and started + timeout_ms / 1000
  -- A request that must not be repeated unasked goes on a new connection, where libcurl
  -- never re-sends it on its own (it does on a reused connection that dies unanswered).
  local req = request_for(ctx, spec, opts, spec.idempotent or (policy and policy.retry_uploads) or false)
  local cancel = opts.cancel
  -- a cancelled call, or a closed client (closing ends every call in flight), tries no more
  local function stopped() return (cancel and cancel.cancelled) or ctx.closed end
  local fed = { taken = 0 }  -- how much of spec.reader this attempt has sent
  local resumed = resume.new(spec)
  local attempts = 0
  while true do
    if stopped() then
      if resumed then resumed:abandon() end
      return nil, errors.new("aborted", ctx.closed and "the client was closed" or "cancelled", { attempts = attempts })
    end
    attempts = attempts + 1
    if deadline then req.timeout_ms = math.max(1, math.ceil((deadline - now()) * 1000)) end
    req.headers = header_lines(ctx, spec, opts.headers)  -- the key is asked for each attempt
    local range = resumed and resumed:prepare(req)
    if spec.resume_from then  -- a stream's rest, after it failed mid-way (below)
      req.resume_from = spec.resume_from
      range = ("Range: bytes=%d-"):format(spec.resume_from)
    end
    if range then req.headers[#req.headers + 1] = range end
    if ctx.debug then ctx.debug(("> %s %s | %s"):format(spec.method, redact.url(req.url), redacted(req.headers))) end
    local d = driver.of(ctx)
    local t, kind, message = d.multi():start(req)
    if not t then return nil, errors.new(kind, message, { attempts = attempts }) end
    local refused = spec.on_start and spec.on_start(t)
    if refused then
      t:close()
      refused.attempts = attempts
      return nil, refused
    end
    if cancel then cancel.transfers[t] = true end
    -- until done, or until a stream's first chunk. Whatever is raised meanwhile (Ctrl-C's
    -- "interrupted!" from the interpreter, a task's error) frees the transfer and removes its
    -- files before it goes on up: an interrupted script leaves no temporary file behind.
    -- (PUC 5.1 cannot yield across pcall: there a task, or a sleep function that yields, waits unguarded)
    local guard = compat.yieldable_pcall or (not tasks.current(ctx) and not ctx.sleep and pcall)
    local waited, reader_err = true
    if guard then waited, reader_err = guard(await, d, t, spec, fed) else reader_err = await(d, t, spec, fed) end
    if not waited then
      t:close()
      if resumed then resumed:abandon() end
      error(reader_err, 0)
    end
    if reader_err then
      reader_err.attempts = attempts
      return nil, reader_err
    end
    local res = t:result()
    local err = failure(res, spec)
    if spec.stream and not err then  -- the head passed the checks: the reader takes over
      res.attempts = attempts
      -- A stream that fails mid-way asks for the rest, as a retry of this call would.
      local function rest(r, delivered)
        local wait = policy and not stopped() and retry.delay(policy, attempts, r, spec)
        if not wait or (now() - started) * 1000 + wait > policy.max_elapsed_time
            or (deadline and now() + wait / 1000 >= deadline) then
          return nil
        end
        d.pause(wait / 1000, cancel)
        local again = {}
        for k, v in pairs(spec) do again[k] = v end
        again.resume_from = delivered
        return M.call(ctx, again, opts)
      end
      res.stream = stream.new(t, d.await, function(r) return failure(r, spec) end, res, rest)
      return res
    end
    if cancel then cancel.transfers[t] = nil end
    if ctx.debug then ctx.debug(response_line(spec, req, res, err, attempts)) end
    if not err and spec.output then
      local ok, msg = t:commit()
      if not ok then err = errors.new("io", msg) end
    end
    local start_over = err and resumed and resumed:failed(t, res)
    t:close()
    if not err then
      if resumed then resumed:succeeded(res) end
      res.attempts = attempts
      return res
    end
    if res.error and res.error.raised ~= nil then
      if resumed then resumed:abandon() end
      error(res.error.raised, 0)
    end
    if ctx.closed and err.kind == "aborted" then err.message = "the client was closed" end
    local wait = policy and not stopped() and (start_over and 0 or retry.delay(policy, attempts, res, spec))
    -- a reader already read from cannot be sent again, unless it can start over
    if wait and fed.taken > 0 and not spec.reader.rewind then wait = nil end
    if wait and ((now() - started) * 1000 + wait > policy.max_elapsed_time
        or (deadline and now() + wait / 1000 >= deadline)
        or (policy.max_retries and attempts > policy.max_retries)) then
      wait = nil
    end
    if not wait then
      if resumed then resumed:abandon() end
      err.attempts, err.elapsed = attempts, now() - started
      return nil, err
    end
    if ctx.on_retry then
      ctx.on_retry({ attempt = attempts, wait = wait / 1000, error = err, method = spec.method,
        url = redact.url(req.url) })
    end
    d.pause(wait / 1000, cancel)
    if fed.taken > 0 then
      spec.reader.rewind()
      fed.taken = 0
    end
  end
end

return M

--- mistral-files: the command line on the rock. main(argv) returns the exit status:
--- 0 success, 1 a failure (one line on stderr), 2 a usage error.
local mistralai = require("mistralai")
local compat = require("mistralai.compat")
local encode = require("mistralai.encode")
local jsonl = require("mistralai.jsonl")
local cjson = require("cjson.safe")
local progress = require("mistralai.cli_progress")
local human = progress.human
local decode_raw = require("mistralai.json").decode_raw

local M = {}

local USAGE = [[
Usage: mistral-files [--server-url URL] [--api-key-env NAME] [--quiet] [--limit-rate RATE] COMMAND [ARGS]

Commands:
  upload FILE...   upload files ("-" reads stdin)
  ls               list files
  info ID          show a file's metadata
  download ID      download a file's content
  rm ID...         delete files
  url ID           print a signed URL that serves the file without the key
  validate FILE... check files are what their purpose needs (default fine-tune)

Options:
  --server-url URL     the API (default: $MISTRAL_SERVER_URL, else https://api.mistral.ai)
  --api-key-env NAME   the environment variable that holds the key (default MISTRAL_API_KEY)
  --quiet              no progress bars
  --limit-rate RATE    cap each transfer at RATE bytes a second, each way (as curl: 500K, 2M)
  --timeout SECONDS    give up on each operation after this long, retries included
  --retries N          retry a failed request at most N times (default: for up to a minute)
  --no-retry           never retry
  --verbose            one line on stderr per request and per response (the key hidden)
  --help               this help; COMMAND --help for a command's
  --version            the version
]]

-- Each command: its usage, its options (flag: no value; value; list: repeatable), its
-- argument count.
local COMMANDS = {
  upload = { args = "1+", usage = [[
Usage: mistral-files upload FILE... [--purpose P] [--visibility V] [--expiry HOURS] [--name NAME]
                                   [--content-type TYPE] [--validate] [-j N]
  Uploads each FILE ("-" reads stdin) and prints its id, name and size. Several files run side
  by side, -j N at a time (default 4); every one is tried, and the exit status is 1 if any failed.
  --purpose P          fine-tune, batch, ocr (sent as given)
  --visibility V       workspace (default) or user
  --expiry HOURS       the file expires after this many hours
  --name NAME          the file name to store (one file only)
  --content-type TYPE  the file part's type (default: from the name's extension)
  --validate           check each file is valid for its purpose before sending it
]], options = { purpose = "value", visibility = "value", expiry = "value", name = "value", validate = "flag",
    ["content-type"] = "value", j = "value" } },
  ls = { args = "0", usage = [[
Usage: mistral-files ls [--purpose P] [--search S] [--source S] [--sample-type T] [--mimetypes M]
                        [--page N --page-size N | --all] [--include-total] [--json]
  Lists files: a table (id, file name, size, purpose, created), or JSON lines with --json.
  --source, --sample-type and --mimetypes may be given more than once. --all lists every
  page. --include-total ends the table with the number of files that match.
]], options = { purpose = "value", search = "value", source = "list", ["sample-type"] = "list", page = "value",
    ["page-size"] = "value", all = "flag", json = "flag", mimetypes = "list", ["include-total"] = "flag" } },
  info = { args = "1", usage = [[
Usage: mistral-files info ID [--json]
  Shows a file's metadata.
]], options = { json = "flag" } },
  download = { args = "1+", usage = [[
Usage: mistral-files download ID... [-o PATH] [--force] [-j N]
  Downloads each file's content: to PATH (one file), to stdout with -o -, or else to the
  file's own name in the current folder, which is never overwritten without --force.
  Several files run side by side, -j N at a time (default 4); every one is tried, and the
  exit status is 1 if any failed.
]], options = { o = "value", output = "value", force = "flag", j = "value" } },
  rm = { args = "1+", usage = [[
Usage: mistral-files rm ID...
  Deletes files.
]], options = {} },
  url = { args = "1", usage = [[
Usage: mistral-files url ID [--expiry HOURS]
  Prints a signed URL that serves the file without the key (expiry 1-168 hours, default 24).
]], options = { expiry = "value" } },
  validate = { args = "1+", usage = [[
Usage: mistral-files validate FILE... [--purpose P]
  Checks that each file is what the purpose needs, as upload --validate does. fine-tune and
  batch: JSON Lines (valid UTF-8, one JSON object per line, not empty) whose lines have the
  purpose's fields; ocr: a PDF, an image or a DOCX or PPTX document, told from its content;
  any other purpose: JSON Lines only. Reports the first 10 bad lines by number, and how many
  more there are.
  --purpose P          fine-tune (default), batch, ocr
]], options = { purpose = "value" } },
}

local GLOBAL = { ["server-url"] = "value", ["api-key-env"] = "value", quiet = "flag", help = "flag", version = "flag",
  ["limit-rate"] = "value", timeout = "value", retries = "value", ["no-retry"] = "flag", verbose = "flag" }

local Usage = {}  -- raised for usage errors

local function usage_error(msg) error(setmetatable({ msg = msg }, Usage), 0) end

-- Splits argv into global options, the command, its options and its arguments.
local function parse(argv)
  local global, opts, args, command = {}, {}, {}, nil
  local i, only_args = 1, false
  while i <= #argv do
    local a = argv[i]
    if only_args or a == "-" or a:sub(1, 1) ~= "-" then
      if command == nil then command = a else args[#args + 1] = a end
    elseif a == "--" then
      only_args = true
    else
      local name, value = a:match("^%-%-?([^=]+)=(.*)$")
      name = name or a:gsub("^%-%-?", "")
      local spec = command and (name == "help" and "flag" or COMMANDS[command].options[name])
      local target = opts
      if not spec and GLOBAL[name] then spec, target = GLOBAL[name], global end
      if not spec then usage_error("unknown option " .. a .. (command and (" for " .. command) or "")) end
      if spec == "flag" then
        if value then usage_error(a .. " takes no value") end
        target[name] = true
      else
        if not value then
          i = i + 1
          value = argv[i]
          if value == nil then usage_error(a .. " needs a value") end
        end
        if spec == "list" then
          target[name] = target[name] or {}
          table.insert(target[name], value)
        else
          target[name] = value
        end
      end
    end
    if command and not COMMANDS[command] then usage_error("unknown command " .. command) end
    i = i + 1
  end
  return global, command, opts, args
end

local function whole(name, value, min, max)
  local n = tonumber(value)
  if not compat.is_integer(n) or n < min or (max and n > max) then
    local range = max and (" from " .. min .. " to " .. max) or (" >= " .. min)
    usage_error(("--%s must be a whole number%s"):format(name, range))
  end
  return n
end

-- Progress bars only when a person watches: stdout and stderr both terminals.
local function on_terminal()
  return compat.execute("test -t 1 && test -t 2")
end

-- Text from a server (file names, messages) as the terminal may show it: control characters,
-- C1 controls included, escaped, so no escape sequence from a server reaches the terminal.
local function printable(s)
  s = tostring(s)
  s = s:gsub("[%z\1-\31\127]", function(c) return ("\\x%02x"):format(c:byte()) end)
  return (s:gsub("\194([\128-\159])", function(c) return ("\\u%04x"):format(c:byte()) end))
end

-- The variable that should hold the key, when it is unset or empty: a 401 then says so.
local missing_key_env

local function fail(err)
  local msg = type(err) == "table" and err.message or tostring(err)
  if type(err) == "table" then
    if err.status == 401 and missing_key_env then msg = missing_key_env .. " is not set" end
    if err.kind == "http" and not msg:find("HTTP " .. tostring(err.status), 1, true) then
      msg = msg .. " (HTTP " .. tostring(err.status) .. ")"
    end
    if type(err.attempts) == "number" and err.attempts > 1 then
      msg = msg .. (" (%d attempts over %.1f s)"):format(err.attempts, err.elapsed or 0)
    end
  end
  io.stderr:write("mistral-files: ", printable(msg), "\n")
  return 1
end

-- Temporary files of this run, removed however main ends.
local temps = {}

-- A new temporary file, in $TMPDIR when set (mktemp's rule), else where Lua puts them.
local function temp_file()
  local p = io.popen("mktemp -t mistral-files-stdin.XXXXXXXX 2>/dev/null")
  local path = p and p:read("*l")
  if p then p:close() end
  if path and path ~= "" then return path end
  return os.tmpname()
end

-- A value as one line of JSON, as the API writes it: nulls kept, "/" not escaped (cjson
-- escapes every "/" as "\/", and nothing else ends in that pair).
local function json_line(v)
  return ((cjson.encode(v) or "null"):gsub("\\/", "/"))
end

-- A Unix time as `ls` shows it: UTC, to the minute.
local function utc(t) return os.date("!%Y-%m-%d %H:%M UTC", t) end

local FIELDS = { "id", "object", "bytes", "created_at", "filename", "purpose", "sample_type", "num_lines",
  "mimetype", "source", "signature", "expires_at", "visibility", "deleted" }

local run = {}

-- Runs jobs (functions that make one transfer and return its result, err) up to opts.j at a
-- time (default 4) with client:gather, each given its progress function: one bar alone, a
-- board of bars for several. Returns the results in the jobs' order; Ctrl-C in one of them
-- stops them all and goes on up.
local function side_by_side(client, opts, show_progress, labels, jobs)
  local j = opts.j and whole("j", opts.j, 1, 64) or 4
  local board = show_progress and #jobs > 1 and progress.board(#jobs)
  local wrapped = {}
  for i, job in ipairs(jobs) do
    wrapped[i] = function()
      local bar = board and board.slot(labels[i]) or (show_progress and progress.bar(labels[i]) or nil)
      local ok, a, b = true
      -- PUC 5.1 cannot yield across pcall: there a raise ends gather, and main, at once
      if compat.yieldable_pcall then ok, a, b = compat.yieldable_pcall(job, bar) else a, b = job(bar) end
      if board then board.finish(bar) end
      if not ok and type(a) == "string" and a:find("interrupted!$") then client:close() end
      if not ok then error(a, 0) end
      return a, b
    end
  end
  local results
  if #jobs == 1 then
    results = { { wrapped[1]() } }
  else  -- Ctrl-C may come while gather itself waits: closing the client ends every transfer
    local ok
    ok, results = pcall(client.gather, client, wrapped, { concurrency = j })
    if not ok then
      client:close()
      error(results, 0)
    end
  end
  if board then board.close() end
  for _, r in ipairs(results) do  -- an interrupt goes on up (the others were closed with it)
    if r[1] == nil and type(r[2]) == "string" and r[2]:find("interrupted!$") then error(r[2], 0) end
    if r[1] == nil and type(r[2]) == "string" then error(r[2], 0) end  -- a bug, not a failure
  end
  return results
end

-- What failed for one of several files: its name, then the reason.
local function fail_for(name, err)
  local copy = {}
  if type(err) == "table" then for k, v in pairs(err) do copy[k] = v end else copy.message = tostring(err) end
  copy.message = name .. ": " .. tostring(copy.message)
  return fail(copy)
end

function run.upload(client, opts, args, show_progress)
  if opts.name and #args > 1 then usage_error("--name is for one file only") end
  local expiry = opts.expiry and whole("expiry", opts.expiry, 1)
  local labels, jobs, names = {}, {}, {}
  for i, path in ipairs(args) do
    local file, temp = path, nil
    if path == "-" then  -- stdin goes through a temporary file, so memory stays flat
      temp = temp_file()
      temps[#temps + 1] = temp
      local out, err = io.open(temp, "wb")
      local copied = out ~= nil
      while copied do
        local chunk = io.stdin:read(1024 * 1024)
        if not chunk then break end
        copied, err = out:write(chunk)  -- nil, why on a full disk
      end
      if out then
        local closed, why = out:close()  -- the last buffered bytes may not fit either
        if copied then copied, err = closed, why end
      end
      if not copied then return fail("cannot keep a copy of stdin in " .. temp .. ": " .. tostring(err)) end
      file = temp
    end
    local name = opts.name or (path == "-" and "stdin") or encode.basename(path)
    names[i], labels[i] = name, "upload " .. name
    jobs[i] = function(bar)
      local f, err = client.files.upload{
        file = file, file_name = name, purpose = opts.purpose, visibility = opts.visibility,
        expiry = expiry, validate = opts.validate, content_type = opts["content-type"], progress = bar,
      }
      if temp then os.remove(temp) end
      return f, err
    end
  end
  -- every file is tried; the report comes at the end, in the order given; exit 1 if any failed
  local status = 0
  for i, r in ipairs(side_by_side(client, opts, show_progress, labels, jobs)) do
    local f, err = r[1], r[2]
    if f then
      io.stdout:write(("%s\t%s\t%s\n"):format(printable(f.id), printable(f.filename), human(f.bytes)))
    else
      status = #jobs > 1 and fail_for(names[i], err) or fail(err)
    end
  end
  return status
end

function run.ls(client, opts)
  if opts.all and (opts.page or opts["page-size"]) then
    usage_error("--all lists every page: no --page or --page-size")
  end
  local query = { purpose = opts.purpose, search = opts.search, source = opts.source, sample_type = opts["sample-type"],
    mimetypes = opts.mimetypes, page_size = opts["page-size"] and whole("page-size", opts["page-size"], 1) or 100 }
  local total, raw_files
  local files = {}
  if opts.all and opts.json then  -- page after page as the API sent them (the iterator drops nulls)
    query.include_total, query.page = false, 0
    local first_id
    while true do
      local page, err, response = client.files.list(query)
      if not page then return fail(err) end
      local raw = decode_raw(response.body)
      local data = type(raw) == "table" and type(raw.data) == "table" and raw.data or {}
      -- a server that ignores `page` sends the first page again: that ends the listing
      local id = type(data[1]) == "table" and data[1].id or nil
      if query.page > 0 and id ~= nil and id == first_id then return fail("the server ignores `page`") end
      first_id = first_id or id
      for _, f in ipairs(data) do io.stdout:write(json_line(f), "\n") end
      if #data < query.page_size then return 0 end
      query.page = query.page + 1
    end
  elseif opts.all then
    local ok, err = pcall(function()
      for f in client.files.each(query) do files[#files + 1] = f end
    end)
    if not ok then return fail(err) end
  else
    query.page = opts.page and whole("page", opts.page, 0) or 0
    local page, err, response = client.files.list(query)
    if not page then return fail(err) end
    files = type(page.data) == "table" and page.data or {}
    total = page.total
    local raw = decode_raw(response.body)  -- for --json: the files as sent, nulls included
    raw_files = type(raw) == "table" and type(raw.data) == "table" and raw.data or nil
  end
  if opts.json then
    for _, f in ipairs(raw_files or files) do io.stdout:write(json_line(f), "\n") end
    return 0
  end
  local rows = { { "ID", "FILENAME", "SIZE", "PURPOSE", "CREATED" } }
  for _, f in ipairs(files) do
    rows[#rows + 1] = { printable(f.id), printable(f.filename or ""), human(f.bytes), printable(f.purpose or ""),
      type(f.created_at) == "number" and os.date("!%Y-%m-%d %H:%M", f.created_at) or "" }
  end
  local widths = {}
  for _, r in ipairs(rows) do
    for c, v in ipairs(r) do widths[c] = math.max(widths[c] or 0, #v) end
  end
  for _, r in ipairs(rows) do
    local cells = {}
    for c, v in ipairs(r) do cells[c] = c < #r and (v .. (" "):rep(widths[c] - #v)) or v end
    io.stdout:write(table.concat(cells, "  "), "\n")
  end
  if opts["include-total"] then io.stdout:write(printable(total or #files), " files match\n") end
  return 0
end

function run.info(client, opts, args)
  local f, err, response = client.files.retrieve(args[1])
  if not f then return fail(err) end
  if opts.json then
    io.stdout:write(json_line(decode_raw(response.body) or f), "\n")
    return 0
  end
  for _, k in ipairs(FIELDS) do
    local v = f[k]
    if (k == "created_at" or k == "expires_at") and type(v) == "number" then v = utc(v) end
    if v ~= nil then io.stdout:write(("%-12s %s\n"):format(k, printable(v))) end
  end
  return 0
end

function run.download(client, opts, args, show_progress, stderr_progress)
  local output = opts.o or opts.output
  if output and #args > 1 then usage_error("-o is for one file only: several go to their own names") end
  if output == "-" then  -- every write checked: a full disk or a closed pipe is a failure
    local ok, err = client.files.download(args[1], { sink = function(chunk)
      local written, why = io.stdout:write(chunk)
      if not written then return false, "cannot write to stdout: " .. tostring(why) end
    end, progress = stderr_progress and progress.bar("download " .. printable(args[1])) or nil })
    if not ok then return fail(err) end
    return 0
  end
  local labels, jobs, outputs = {}, {}, {}
  for i, id in ipairs(args) do
    labels[i] = "download " .. printable(output or id)
    jobs[i] = function(bar)
      local path = output
      if not path then  -- the file's own name, and never a path that leaves the current folder
        local f, err = client.files.retrieve(id)
        if not f then return nil, err end
        path = encode.basename(type(f.filename) == "string" and f.filename or "")
        if path == "" or path == "." or path == ".." then path = id end
      end
      outputs[i] = path
      -- without --force, an existing file of that name (readable or not) is refused, atomically
      local ok, err = client.files.download(id, { output = path, overwrite = opts.force or false, progress = bar })
      if not ok and not opts.force and err.kind == "io" and err.message:find(": File exists$") then
        err = { message = path .. " exists; --force overwrites it" }
      end
      return ok, err
    end
  end
  local status = 0
  for i, r in ipairs(side_by_side(client, opts, show_progress, labels, jobs)) do
    if r[1] then
      io.stdout:write(printable(outputs[i]), "\n")
    else
      status = #jobs > 1 and fail_for(args[i], r[2]) or fail(r[2])
    end
  end
  return status
end

function run.rm(client, _, args)
  local status = 0
  for _, id in ipairs(args) do
    local d, err = client.files.delete(id)
    if d then io.stdout:write("deleted ", printable(id), "\n") else status = fail(err) end
  end
  return status
end

function run.url(client, opts, args)
  local u, err = client.files.get_signed_url(args[1], { expiry = opts.expiry and whole("expiry", opts.expiry, 1, 168) })
  if not u then return fail(err) end
  io.stdout:write(printable(u.url), "\n")
  return 0
end

function run.validate(_, opts, args)
  local status, purpose = 0, opts.purpose or "fine-tune"
  for _, path in ipairs(args) do
    local checked, problems = jsonl.check_file(path, purpose)
    if checked == nil then
      status = fail("cannot read " .. path .. ": " .. tostring(problems))
    elseif problems then
      status = 1
      for _, p in ipairs(problems) do
        io.stdout:write(("%s:%d: %s\n"):format(path, p.line, printable(p.reason)))
      end
      if problems.more then io.stdout:write(("%s: ... and %d more\n"):format(path, problems.more)) end
    elseif type(checked) == "string" then  -- ocr: the file's type
      io.stdout:write(("%s: ok, %s\n"):format(path, checked))
    else
      io.stdout:write(("%s: ok, %d lines\n"):format(path, checked))
    end
  end
  return status
end

-- --limit-rate's RATE as curl reads it: bytes a second, with an optional K, M or G (1024-based).
local function rate(value)
  local n, unit = value:match("^(%d+%.?%d*)([KkMmGg]?)$")
  local bytes = n and math.floor(tonumber(n) * (({ k = 1024, m = 1024 ^ 2, g = 1024 ^ 3 })[unit:lower()] or 1))
  if not bytes or bytes < 1 or bytes > 2147483647 then
    usage_error("--limit-rate takes bytes a second from 1 to 2G, e.g. 500K or 2M, not '" .. value .. "'")
  end
  return bytes
end

-- The client the global options ask for: key, server, rate cap, timeout, retries, verbosity.
-- Retries show on stderr as they happen, unless --quiet.
local function new_client(global)
  local key_env = global["api-key-env"] or "MISTRAL_API_KEY"
  local key = os.getenv(key_env)
  missing_key_env = (key == nil or key == "") and key_env or nil
  local url = global["server-url"]
  if url and not url:find("^https?://[^/]") then usage_error("--server-url takes an http:// or https:// URL") end
  local cap = global["limit-rate"] and rate(global["limit-rate"])
  local timeout = global.timeout and tonumber(global.timeout)
  if global.timeout and not (timeout and timeout > 0 and timeout <= 86400) then
    usage_error("--timeout takes seconds, more than 0 and at most 86400")
  end
  if global.retries and global["no-retry"] then usage_error("--retries and --no-retry exclude each other") end
  local retry = global.retries and { max_retries = whole("retries", global.retries, 0) }
  if global["no-retry"] then retry = false end
  return mistralai.new{ api_key = key or "", server_url = url, max_send_bytes_per_s = cap, max_recv_bytes_per_s = cap,
    timeout_ms = timeout and math.ceil(timeout * 1000), retry = retry,
    debug = global.verbose and function(line) io.stderr:write(printable(line), "\n") end or nil,
    on_retry = not global.quiet and function(info)
      progress.clear()
      local e = info.error
      local why = e.kind == "http" and ("%s (HTTP %s)"):format(e.message, tostring(e.status)) or e.message
      io.stderr:write(("mistral-files: retrying in %.1f s (attempt %d): %s\n"):format(info.wait, info.attempt + 1,
        printable(why)))
    end or nil }
end

local function count_ok(spec, n)
  if spec == "0" then return n == 0 end
  if spec == "1" then return n == 1 end
  return n >= 1
end

--- Runs the command line argv (a list of strings). Returns the exit status.
function M.main(argv)
  local ok, status = pcall(function()
    local global, command, opts, args = parse(argv)
    if global.version then
      io.stdout:write("mistral-files ", mistralai._VERSION, "\n")
      return 0
    end
    if command == nil then
      io.stdout:write(USAGE)
      return global.help and 0 or 2
    end
    local spec = COMMANDS[command]
    if opts.help or global.help then
      io.stdout:write(spec.usage)
      return 0
    end
    if not count_ok(spec.args, #args) then usage_error("wrong number of arguments for " .. command) end
    local client
    if command ~= "validate" then
      client = new_client(global)
    end
    local show_progress = not global.quiet and on_terminal()
    -- download -o - draws on stderr when that alone is a terminal, as curl does
    local stderr_progress = not global.quiet and compat.execute("test -t 2")
    local code = run[command](client, opts, args, show_progress, stderr_progress)
    if client then client:close() end
    local flushed, why = io.stdout:flush()  -- what is still buffered may not fit either
    if not flushed then return fail("cannot write to stdout: " .. tostring(why)) end
    return code
  end)
  for _, temp in ipairs(temps) do os.remove(temp) end
  temps = {}
  if ok then return status end
  if type(status) == "string" and status:find("interrupted!$") then  -- Ctrl-C, from the interpreter
    progress.clear()
    io.stderr:write("mistral-files: interrupted\n")
    return 130
  end
  if getmetatable(status) == Usage then
    io.stderr:write("mistral-files: ", status.msg, "\n", "Try 'mistral-files --help'.\n")
    return 2
  end
  return fail(status)
end

return M

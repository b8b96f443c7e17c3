--- The local server's files: contents in DATA/blobs/<id>, metadata in DATA/meta/<id>.json,
--- and an index in the worker's memory, newest last (the server runs one worker).
local cjson = require("cjson.safe")

local M = {}

local data_dir
local order = {}  -- files in upload order: { meta = {...}, json = "<encoded meta>" }
local by_id = {}
local seq = 0

local function meta_path(id) return data_dir .. "/meta/" .. id .. ".json" end
function M.blob_path(id) return data_dir .. "/blobs/" .. id end

-- The API's field order, so responses read like the real ones.
local FIELDS = { "id", "object", "bytes", "created_at", "filename", "purpose", "sample_type",
  "num_lines", "mimetype", "source", "signature", "expires_at", "visibility" }

local function encode(meta)
  local out = {}
  for _, k in ipairs(FIELDS) do
    local v = meta[k]
    out[#out + 1] = cjson.encode(k) .. ":" .. (v == nil and "null" or cjson.encode(v))
  end
  return "{" .. table.concat(out, ",") .. "}"
end

local function add(entry)
  entry.json = encode(entry.meta)
  order[#order + 1] = entry
  by_id[entry.meta.id] = entry
  if entry.seq > seq then seq = entry.seq end
end

--- Loads what an earlier run left in dir.
function M.open(dir)
  data_dir = dir
  local entries = {}
  local ls = io.popen("ls -1 '" .. dir .. "/meta' 2>/dev/null")
  for name in ls:lines() do
    local f = io.open(dir .. "/meta/" .. name, "rb")
    local saved = f and cjson.decode(f:read("*a"))
    if f then f:close() end
    if type(saved) == "table" and type(saved.meta) == "table" then entries[#entries + 1] = saved end
  end
  ls:close()
  table.sort(entries, function(a, b) return a.seq < b.seq end)
  for _, e in ipairs(entries) do add(e) end
end

function M.get(id) return by_id[id] end

function M.insert(meta)
  seq = seq + 1
  local entry = { seq = seq, meta = meta }
  local f = assert(io.open(meta_path(meta.id), "wb"))
  f:write(cjson.encode({ seq = seq, meta = meta }))
  f:close()
  add(entry)
  return entry
end

function M.remove(id)
  local entry = by_id[id]
  if not entry then return nil end
  by_id[id] = nil
  for i = #order, 1, -1 do
    if order[i] == entry then table.remove(order, i) break end
  end
  os.remove(meta_path(id))
  os.remove(M.blob_path(id))
  return entry
end

--- Files matching keep(meta) (all when nil), newest first: the page asked for and the count.
function M.page(keep, page, page_size)
  local first = page * page_size + 1
  local last = first + page_size - 1
  local out, n = {}, 0
  if keep == nil then  -- no filter: slice directly
    n = #order
    for i = first, math.min(last, n) do out[#out + 1] = order[n - i + 1] end
    return out, n
  end
  for i = #order, 1, -1 do
    local e = order[i]
    if keep(e.meta) then
      n = n + 1
      if n >= first and n <= last then out[#out + 1] = e end
    end
  end
  return out, n
end

return M

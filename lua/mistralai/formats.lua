--- What each upload purpose needs of a file, as Mistral documents it (docs/formats.md gives
--- the rules and their sources): the per-line rules of `fine-tune` and `batch` JSON Lines,
--- applied to a line already decoded, and the file types `ocr` accepts, told from the first
--- bytes. Used by mistralai.jsonl; each rule gives the first reason a line is wrong, or nil.
local M = {}

-- A JSON null decodes to the decoder's null (cjson.null, vim.NIL): the only userdata a
-- decoded value holds.
local function absent(v) return v == nil or type(v) == "userdata" end

-- A JSON array of at least one value. (JSON object keys are strings, so [1] is an array's.)
local function list(v) return type(v) == "table" and v[1] ~= nil end

-- A JSON object (an empty array decodes alike: {} and [] are the same table).
local function object(v) return type(v) == "table" and v[1] == nil end

-- A short printable string shown in a reason, quoted; nil for anything else.
local function shown(s)
  if type(s) == "string" and #s <= 40 and not s:find("[^\32-\126]") then return '"' .. s .. '"' end
  return nil
end

local ROLES = { system = true, user = true, assistant = true, tool = true }

local NONE = {}  -- no tools defined
local ANY = {}   -- the key in ids that says a tool call was made, with or without an id

-- The names the line's top-level `tools` defines, or nil and why the list is wrong.
local function tool_names(tools)
  if absent(tools) then return NONE end
  local names = {}
  if type(tools) ~= "table" or (tools[1] == nil and next(tools) ~= nil) then return nil, "tools must be a list" end
  for i = 1, #tools do
    local tool, where = tools[i], "tools[" .. i .. "]"
    if not object(tool) then return nil, where .. " must be an object" end
    if not absent(tool.type) and tool.type ~= "function" then return nil, where .. '.type must be "function"' end
    local fn = tool["function"]
    if not object(fn) then return nil, where .. ".function must be an object" end
    if type(fn.name) ~= "string" or fn.name == "" then
      return nil, where .. ".function.name must be a non-empty string"
    end
    if not absent(fn.description) and type(fn.description) ~= "string" then
      return nil, where .. ".function.description must be a string"
    end
    if not absent(fn.parameters) and not object(fn.parameters) then
      return nil, where .. ".function.parameters must be an object"
    end
    names[fn.name] = true
  end
  return names
end

-- Why an assistant message's tool_calls are wrong, or nil; each call's id goes into ids.
local function tool_calls_problem(calls, names, ids)
  if not list(calls) then return "tool_calls must be a non-empty list" end
  for i = 1, #calls do
    local call, where = calls[i], "tool_calls[" .. i .. "]"
    if not object(call) then return where .. " must be an object" end
    ids[ANY] = true
    if not absent(call.id) then
      if type(call.id) ~= "string" then return where .. ".id must be a string" end
      ids[call.id] = true
    end
    if not absent(call.type) and call.type ~= "function" then return where .. '.type must be "function"' end
    local fn = call["function"]
    if not object(fn) then return where .. ".function must be an object" end
    if type(fn.name) ~= "string" or fn.name == "" then return where .. ".function.name must be a non-empty string" end
    if type(fn.arguments) ~= "string" then return where .. ".function.arguments must be a string (JSON text)" end
    if not names[fn.name] then return where .. ": " .. (shown(fn.name) or "the function") .. " is not in tools" end
  end
  return nil
end

-- Why one message is wrong, or nil. ids holds the tool call ids seen so far in the line.
local function message_problem(m, names, ids)
  if not object(m) then return "must be an object" end
  local role = m.role
  if absent(role) then return "role is missing" end
  if not ROLES[role] then
    local s = shown(role)
    return "role must be system, user, assistant or tool" .. (s and (", not " .. s) or "")
  end
  local content, calls = m.content, m.tool_calls
  if not absent(content) and type(content) ~= "string" and not list(content) then
    return "content must be a string or a non-empty list"
  end
  if not absent(m.weight) and m.weight ~= 0 and m.weight ~= 1 then return "weight must be 0 or 1" end
  if role == "assistant" then
    if absent(calls) then
      if absent(content) then return "an assistant message needs content or tool_calls" end
      return nil
    end
    if not absent(content) and content ~= "" then return "an assistant message with tool_calls cannot have content" end
    return tool_calls_problem(calls, names, ids)
  end
  if not absent(calls) then return "only assistant messages may have tool_calls" end
  if absent(content) then return "content is missing" end
  if role == "tool" then
    if not ids[ANY] then return "a tool message must answer an earlier tool call" end
    local id = m.tool_call_id
    if not absent(id) and not ids[id] then
      local s = shown(id)
      return "tool_call_id " .. (s and (s .. " ") or "") .. "matches no earlier tool call's id"
    end
  end
  return nil
end

--- fine-tune: { messages = [ {role, content | tool_calls, weight?, tool_call_id?}, ... ], tools? }.
local function fine_tune(t)
  local messages = t.messages
  if absent(messages) then return "messages is missing" end
  if not list(messages) then return "messages must be a non-empty list" end
  local names, why = tool_names(t.tools)
  if not names then return why end
  local ids, assistant = {}, false
  for i = 1, #messages do
    local m = messages[i]
    why = message_problem(m, names, ids)
    if why then return "messages[" .. i .. "]" .. (why:find("^must") and " " or ": ") .. why end
    if m.role == "assistant" then assistant = true end
  end
  if not assistant then return "no assistant message" end
  return nil
end

-- batch: { custom_id = "unique", body = { the endpoint's request } }. seen maps each custom
-- id to the line of its first use.
local function batch()
  local seen = {}
  return function(t, n)
    local id = t.custom_id
    if absent(id) then return "custom_id is missing" end
    if type(id) ~= "string" or id == "" then return "custom_id must be a non-empty string" end
    local first = seen[id]
    if first then
      return ("custom_id %sis already used on line %d"):format(shown(id) and (shown(id) .. " ") or "", first)
    end
    seen[id] = n
    if absent(t.body) then return "body is missing" end
    if not object(t.body) or next(t.body) == nil then return "body must be a non-empty object" end
    return nil
  end
end

--- The rule for each line of a JSON Lines purpose: a function(object, line number) giving
--- the reason the line is wrong or nil; nil for a purpose with no rules of its own (only
--- the JSON Lines check then).
function M.line_rule(purpose)
  if purpose == "fine-tune" then return fine_tune end
  if purpose == "batch" then return batch() end
  return nil
end

--- The bytes file_type looks at: the first 64 KiB (an office document's part names).
M.HEAD_BYTES = 64 * 1024

-- The types `ocr` accepts, by their first bytes: name, test.
local SIGNATURES = {
  { "PDF", function(h) return h:sub(1, 5) == "%PDF-" end },
  { "PNG", function(h) return h:sub(1, 8) == "\137PNG\r\n\26\n" end },
  { "JPEG", function(h) return h:sub(1, 3) == "\255\216\255" end },
  { "GIF", function(h) return h:sub(1, 6) == "GIF87a" or h:sub(1, 6) == "GIF89a" end },
  { "WEBP", function(h) return h:sub(1, 4) == "RIFF" and h:sub(9, 12) == "WEBP" end },
  { "TIFF", function(h) return h:sub(1, 4) == "II*\0" or h:sub(1, 4) == "MM\0*" end },
  { "BMP", function(h) return h:sub(1, 2) == "BM" and h:sub(7, 10) == "\0\0\0\0" end },
  { "AVIF", function(h) return h:sub(5, 12) == "ftypavif" or h:sub(5, 12) == "ftypavis" end },
}

-- A ZIP local file header up to its entry's name: the signature and 26 bytes of fields.
local ZIP_ENTRY = "PK\3\4" .. ("."):rep(26)

local ACCEPTED = "PDF, PNG, JPEG, GIF, WEBP, TIFF, BMP, AVIF, DOCX or PPTX"

--- The type of a file `ocr` accepts, told from its first bytes (head: up to HEAD_BYTES):
--- its name ("PDF", "PNG", ..., "DOCX", "PPTX"), or nil and why not. The name of the file
--- plays no part.
function M.file_type(head)
  if head == "" then return nil, "the file is empty" end
  for _, sig in ipairs(SIGNATURES) do
    if sig[2](head) then return sig[1] end
  end
  if head:sub(1, 4) == "PK\3\4" then  -- a ZIP archive: DOCX and PPTX hold word/ and ppt/ parts
    if head:find(ZIP_ENTRY .. "word/") then return "DOCX" end
    if head:find(ZIP_ENTRY .. "ppt/") then return "PPTX" end
    return nil, "a ZIP archive, but not a DOCX or PPTX document"
  end
  return nil, "not a type OCR accepts (" .. ACCEPTED .. ") by its content"
end

return M

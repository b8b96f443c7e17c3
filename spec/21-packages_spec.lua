-- Every external program the build and the tests run comes from a Debian package that
-- scripts/install-deps installs (issue 13: `make test` failed on a fresh Debian 12 machine
-- because luarocks was missing). The programs are discovered, not listed by hand: the words in
-- command position of the Makefile's recipes and $(shell ...) calls, of every file in scripts/,
-- of .ci/run, and of the shell commands the specs pass to sh, popen or os.execute. Each is
-- resolved on this machine (command -v, its symlinks followed, alternatives included) and
-- dpkg -S names its package.
local support = require("support")

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function trim(s) return (s:gsub("%s+$", "")) end

local function set(list)
  local t = {}
  for w in list:gmatch("%S+") do t[w] = true end
  return t
end

-- Shell builtins and keywords: never a program of a package. A function the file defines
-- (`name() {`) is left out too.
local BUILTINS = set("cd echo test [ [[ export set unset trap eval exit for while until if then else elif fi "
  .. "do done case esac in read kill wait true false printf command type shift local return break "
  .. "continue pwd umask readonly getopts hash ulimit alias source . : exec time declare let builtin ! { }")
-- Builtins and keywords after which the next word is still a command ("then make", "exec lua5.4").
local KEEP_COMMAND = set("if then else elif while until do done fi ! { } exec eval time builtin")
-- Programs after which the next word (past options, VAR=x, and timeout's duration) is a command.
local PREFIXES = set("env timeout sudo nohup nice stdbuf")
-- Words the scan finds in command position that look like programs but are none, and so are
-- not looked for on PATH: { [word] = "why" }. Kept small, each with its reason. (Words that do
-- not look like programs, such as patterns, are left out without being listed here.)
local NOT_PROGRAMS = {
}

-- A word a program's name could be (not a pattern, a number, a redirection, an option).
local function looks_like_program(word)
  return word:find("^[%w][%w._+-]*$") ~= nil and not word:find("^%d+$")
end

-- Shell text as tokens: { word = , dyn = , line = } or { op = "sep" | "close" | "redir" | "push" | "pop" }.
-- A small scanner, not a parser: quotes ('...', "..."), backslashes, comments, the separators
-- (newline ; & && | || |& ( ) and `then`/`do`, which the walker knows), redirections (their target
-- word is skipped), and substitutions $( ) and <( ) (their commands scanned, "push" and "pop"
-- around them) and $(( )) (only the $( ) inside it). A word with $ or a Lua format's % in it is
-- "dyn": a variable, or a value a spec fills in.
local function shell_tokens(text, line0, fixed_line)
  local toks, i, n, line = {}, 1, #text, line0
  local word, dyn
  local function add(s, d)
    word = (word or "") .. s
    dyn = dyn or d or s:find("[%$%%`]") ~= nil
  end
  local function flush()
    if word then toks[#toks + 1] = { word = word, dyn = dyn, line = line } end
    word, dyn = nil, nil
  end
  local function op(kind) flush(); toks[#toks + 1] = { op = kind } end
  local function newline() if not fixed_line then line = line + 1 end end
  local scan, arith
  -- $( ... ) from just past its "(": its commands, then the word around it goes on, dynamic.
  local function subst()
    local outer = word
    word, dyn = nil, nil
    op("push"); op("sep")
    scan(")")
    op("pop")
    word, dyn = (outer or ""), true
  end
  -- $(( ... )) from just past its "((": skipped but for the $( ) inside.
  function arith()
    local depth = 2
    while i <= n and depth > 0 do
      local c = text:sub(i, i)
      if text:sub(i, i + 1) == "$(" and text:sub(i + 2, i + 2) ~= "(" then
        i = i + 2
        subst()
      else
        if c == "(" then
          depth = depth + 1
        elseif c == ")" then
          depth = depth - 1
        elseif c == "\n" then
          newline()
        end
        i = i + 1
      end
    end
    add("", true)
  end
  local function dollar()  -- at "$": a substitution, or a plain $
    if text:sub(i, i + 2) == "$((" then
      i = i + 3
      arith()
    elseif text:sub(i, i + 1) == "$(" then
      i = i + 2
      subst()
    else
      add("$")
      i = i + 1
    end
  end
  local function dquote()  -- from just past the opening "
    while i <= n do
      local c = text:sub(i, i)
      if c == '"' then i = i + 1; add(""); return end
      if c == "\\" then
        add(text:sub(i + 1, i + 1)); i = i + 2
      elseif c == "$" then
        dollar()
      else
        if c == "\n" then newline() end
        add(c); i = i + 1
      end
    end
  end
  -- Tokens until the unmatched `close` (")" of a substitution) or the end of the text.
  function scan(close)
    local depth = 0  -- of subshells ( ... ) inside
    while i <= n do
      local c = text:sub(i, i)
      if c == close and depth == 0 then flush(); i = i + 1; return end
      if c == "\\" and text:sub(i + 1, i + 1) == "\n" then
        i = i + 2; newline()
      elseif c == "\\" then
        add(text:sub(i + 1, i + 1)); i = i + 2
      elseif c == "\n" then
        op("sep"); newline(); i = i + 1
      elseif c == " " or c == "\t" then
        flush(); i = i + 1
      elseif c == "#" and not word then
        i = (text:find("\n", i, true) or n + 1)
      elseif c == "'" then
        local e = text:find("'", i + 1, true) or n
        add(text:sub(i + 1, e - 1)); i = e + 1
      elseif c == '"' then
        i = i + 1; dquote()
      elseif c == "$" then
        dollar()
      elseif (c == "<" or c == ">") and text:sub(i + 1, i + 1) == "(" then
        flush(); i = i + 2
        op("push"); op("sep"); scan(")"); op("pop")
      elseif c == "<" or c == ">" or (c == "&" and text:sub(i + 1, i + 1) == ">") then
        if word and word:find("^%d+$") then word, dyn = nil, nil end  -- 2>file: the 2 is no word
        flush()
        local e = select(2, text:find("^[&<>]+", i))
        i = e + 1
        if text:sub(i, i) == "&" then i = i + 1 end
        op("redir")
      elseif c == ";" or c == "|" or c == "&" then
        op("sep"); i = i + 1
      elseif c == "(" then
        op("sep"); i = i + 1; depth = depth + 1
      elseif c == ")" then
        op("close"); i = i + 1; depth = math.max(depth - 1, 0)
      else
        add(c); i = i + 1
      end
    end
    flush()
  end
  scan(nil)
  return toks
end

-- The words in command position of shell text, into found: { { name =, line = } }.
-- At the start and after each separator a word is in command position; so is the word after
-- VAR=x, after a dyn word without a / (it may be a prefix: "$sudo apt-get", "%s env ..."; with a /
-- it is a program given by its path, '%s/bin/mistral-files'), after a keyword
-- like then/do/exec, after a prefix program (env, timeout, ...) past its options. `command -v x`
-- counts x. trap's first argument is shell text, scanned in turn. Paths inside the repository
-- (a relative path: bin/mistral-files, scripts/..., build/...) and builtins are no programs.
local function commands_of(text, line0, fixed_line, skip, found)
  local state, prefix, duration_seen, skip_next = "cmd", nil, false, false
  local stack = {}
  for _, t in ipairs(shell_tokens(text, line0, fixed_line)) do
    if t.op == "sep" then
      state, skip_next = "cmd", false
    elseif t.op == "close" then
      state = "args"
    elseif t.op == "redir" then
      skip_next = true
    elseif t.op == "push" then
      stack[#stack + 1] = { state, prefix, duration_seen }
      skip_next = false
    elseif t.op == "pop" then
      local s = table.remove(stack) or { "args" }
      state, prefix, duration_seen, skip_next = s[1], s[2], s[3], false
    elseif skip_next then
      skip_next = false
    else
      local w = t.word
      if state == "prefix" then  -- past a prefix's options, VAR=x and timeout's duration
        if w:find("^%-") or (prefix == "env" and w:find("^[%a_][%w_]*=")) then
          w = nil
        elseif prefix == "timeout" and not duration_seen then
          duration_seen, w = true, nil
        else
          state = "cmd"
        end
      elseif state == "trap" then
        commands_of(w, t.line, true, skip, found)
        state, w = "args", nil
      elseif state == "query" then  -- command -v x: x is looked for, to be run
        if not w:find("^%-") then
          if not t.dyn and looks_like_program(w) then found[#found + 1] = { name = w, line = t.line } end
          state = "args"
        end
        w = nil
      end
      if w and state == "cmd" then
        if w:find("^[%a_][%w_]*%+?=") or (t.dyn and not w:find("/")) or KEEP_COMMAND[w] then  -- luacheck: ignore 542
          -- still in command position
        elseif w == "command" then
          state = "command"
        elseif w == "trap" then
          state = "trap"
        elseif BUILTINS[w] or skip[w] or t.dyn or w:find("^%-") or (w:find("/") and not w:find("^/")) then
          state = "args"
        else
          found[#found + 1] = { name = w, line = t.line }
          if PREFIXES[w] then
            state, prefix, duration_seen = "prefix", w, false
          else
            state = "args"
          end
        end
      elseif w and state == "command" then  -- command -v x, or command x (x runs)
        if w == "-v" or w == "-V" then
          state = "query"
        elseif not w:find("^%-") then
          if not t.dyn and looks_like_program(w) then found[#found + 1] = { name = w, line = t.line } end
          state = "args"
        end
      end
    end
  end
  return found
end

-- The functions a shell file defines: `name() {`.
local function functions_of(text)
  local names = {}
  for name in ("\n" .. text):gmatch("\n%s*([%w_-]+)%s*%(%)") do names[name] = true end
  return names
end

-- Lua source as tokens { kind = "str" | "name" | "punct", value =, line = }, comments left out.
local function lua_tokens(src)
  local toks, i, n, line = {}, 1, #src, 1
  local function count_lines(s) for _ in s:gmatch("\n") do line = line + 1 end end
  local ESC = { n = "\n", t = "\t", r = "\r", a = "\a", b = "\b", f = "\f", v = "\v" }
  while i <= n do
    local c = src:sub(i, i)
    local long = src:match("^%[(=*)%[", i)
    if c == "\n" then
      line = line + 1; i = i + 1
    elseif c:find("%s") then
      i = i + 1
    elseif src:sub(i, i + 1) == "--" then
      local eq = src:match("^%-%-%[(=*)%[", i)
      local e = eq and select(2, src:find("]" .. eq .. "]", i, true))
      e = e or (src:find("\n", i, true) or n + 1) - 1
      count_lines(src:sub(i, e)); i = e + 1
    elseif long then
      local s = i + #long + 2
      local e1, e2 = src:find("]" .. long .. "]", s, true)
      e1, e2 = e1 or n + 1, e2 or n
      local value = src:sub(s, e1 - 1):gsub("^\r?\n", "")
      toks[#toks + 1] = { kind = "str", value = value, line = line }
      count_lines(src:sub(i, e2)); i = e2 + 1
    elseif c == '"' or c == "'" then
      local buf, j, start = {}, i + 1, line
      while j <= n and src:sub(j, j) ~= c do
        local d = src:sub(j, j)
        if d == "\\" then
          local e = src:sub(j + 1, j + 1)
          if ESC[e] then buf[#buf + 1] = ESC[e]; j = j + 2
          elseif e == "\n" then buf[#buf + 1] = "\n"; line = line + 1; j = j + 2
          elseif e == "z" then j = select(2, src:find("^%s*", j + 2)) + 1
          elseif e == "x" then buf[#buf + 1] = string.char(tonumber(src:sub(j + 2, j + 3), 16)); j = j + 4
          elseif e:find("%d") then
            local digits = src:match("^%d%d?%d?", j + 1)
            buf[#buf + 1] = string.char(tonumber(digits) % 256); j = j + 1 + #digits
          else buf[#buf + 1] = e; j = j + 2 end
        else
          buf[#buf + 1] = d; j = j + 1
        end
      end
      toks[#toks + 1] = { kind = "str", value = table.concat(buf), line = start }
      i = j + 1
    elseif c:find("[%a_]") then
      local name = src:match("^[%w_]+", i)
      toks[#toks + 1] = { kind = "name", value = name, line = line }
      i = i + #name
    elseif c:find("%d") then
      i = i + #src:match("^[%w.]+", i)
    else
      local p = src:match("^%.%.%.?", i) or c
      toks[#toks + 1] = { kind = "punct", value = p, line = line }
      i = i + #p
    end
  end
  return toks
end

local LUA_KEYWORDS = set("and or not return in then do else elseif if while until local")

-- The shell commands of Lua source: the string argument of each call of a function named sh,
-- popen or execute (support.sh, support.popen, io.popen, os.execute, a local sh). Its string
-- pieces are joined as the shell gets them: "a" .. "b" is "ab"; "a" .. x .. "b" is "a%sb" (a
-- value, like a format's %s). Strings inside a nested call (:format(...), shell_quote(...)) are
-- values, left out. Returns { { text =, line = } }.
local function lua_commands(src)
  local toks, out = lua_tokens(src), {}
  for k, t in ipairs(toks) do
    local nxt = toks[k + 1]
    if t.kind == "name" and (t.value == "sh" or t.value == "popen" or t.value == "execute")
      and nxt and nxt.value == "(" then
      local j = k - 1
      while toks[j] and toks[j].value == "." and toks[j - 1] and toks[j - 1].kind == "name" do j = j - 2 end
      if not (toks[j] and toks[j].value == "function") then  -- a call, not the definition
        local stack, pieces, between = {}, {}, nil
        local m = k + 2
        while toks[m] do
          local v = toks[m]
          if v.value == "(" or v.value == "{" or v.value == "[" then
            local prev = toks[m - 1]
            local called = (prev.kind == "name" and not LUA_KEYWORDS[prev.value]) or prev.value == ")"
              or prev.value == "]" or prev.kind == "str"
            stack[#stack + 1] = v.value == "(" and not called
          elseif v.value == ")" or v.value == "}" or v.value == "]" then
            if #stack == 0 then break end
            stack[#stack] = nil
          end
          local collect = v.kind == "str"
          for _, group in ipairs(stack) do collect = collect and group end
          if collect then
            if between and between ~= ".." then pieces[#pieces + 1] = "%s" end
            pieces[#pieces + 1] = v.value
            between = ""
          elseif between and v.kind ~= "str" then
            between = between .. v.value
          end
          m = m + 1
        end
        if #pieces > 0 then out[#out + 1] = { text = table.concat(pieces), line = t.line } end
      end
    end
  end
  return out
end

-- The Makefile's variables, NAME = value (:=, ?=, =), for EXTRA_PACKAGES's values.
local function make_variables(src)
  local vars = {}
  for line in src:gmatch("[^\n]+") do
    local name, value = line:match("^([%w_]+)%s*[:?]?=%s*(.-)%s*$")
    if name and vars[name] == nil then vars[name] = value end
  end
  return vars
end

local function make_expand(s, vars)
  for _ = 1, 10 do
    local before = s
    s = s:gsub("%$%(([%w_]+)%)", function(name) return vars[name] or "" end)
    if s == before then break end
  end
  return s
end

-- The shell text make runs: each recipe line (with its continuation lines, its @/-/+ prefix
-- off) and each $(shell ...) call. Make's own $(...) references become a dyn ${M}; $$ is $.
local function make_commands(src)
  local function shellify(s)
    s = s:gsub("%$%$", "\1")
    for _ = 1, 10 do
      local before = s
      s = s:gsub("%$(%b())", function(ref)
        return ref:find("^%(shell ") and "\2" .. ref:sub(8) or "${M}"  -- $(shell x) runs x
      end)
      if s == before then break end
    end
    return (s:gsub("\1", "$"):gsub("\2", "$("))
  end
  local lines, out = {}, {}
  for l in (src .. "\n"):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  local k = 1
  while k <= #lines do
    local first, text = k, lines[k]
    while text:find("\\$") and lines[k + 1] do
      k = k + 1
      text = text .. "\n" .. lines[k]
    end
    if text:find("^\t") then
      out[#out + 1] = { text = shellify(text:gsub("^\t[@+-]*", "")), line = first }
    elseif not text:find("^%s*#") then
      for ref in text:gmatch("%$(%b())") do
        if ref:find("^%(shell ") then
          out[#out + 1] = { text = shellify(ref:sub(8, -2)), line = first }
        end
      end
    end
    k = k + 1
  end
  return out
end

local function list_files(pattern)
  local files = {}
  for path in support.sh("ls -d " .. pattern .. " 2>/dev/null"):gmatch("[^\n]+") do
    files[#files + 1] = path
  end
  return files
end

-- Every program found: { [name] = { "file:line", ... } } in the order found.
local function discover()
  local programs, order = {}, {}
  local function note(file, found)
    for _, f in ipairs(found) do
      if not programs[f.name] then
        programs[f.name] = {}
        order[#order + 1] = f.name
      end
      local where = programs[f.name]
      where[#where + 1] = file .. ":" .. f.line
    end
  end
  local function shell_file(path)
    local text = support.read(path)
    note(path, commands_of(text, 1, false, functions_of(text), {}))
  end
  local function lua_file(path)
    local found = {}
    for _, c in ipairs(lua_commands(support.read(path))) do commands_of(c.text, c.line, true, {}, found) end
    note(path, found)
  end
  local makefile = support.read("Makefile")
  local found = {}
  for _, c in ipairs(make_commands(makefile)) do commands_of(c.text, c.line, false, {}, found) end
  note("Makefile", found)
  for _, path in ipairs(list_files("scripts/*")) do
    local first = (support.read(path) or ""):match("^[^\n]*")
    if path:find("%.lua$") or first:find("^#!.*lua") then lua_file(path) else shell_file(path) end
  end
  shell_file(".ci/run")
  for _, path in ipairs(list_files("spec/*.lua spec/hosts/*.lua")) do lua_file(path) end
  return programs, order, makefile
end

-- The packages of the Makefile's EXTRA_PACKAGES=... (clang-deps, valgrind-deps, test-all, bench).
local function makefile_extras(makefile)
  local vars, extras = make_variables(makefile), {}
  for value in makefile:gmatch('EXTRA_PACKAGES="([^"]*)"') do
    extras[#extras + 1] = make_expand(value, vars)
  end
  for value in makefile:gmatch('EXTRA_PACKAGES=([^"%s]%S*)') do
    extras[#extras + 1] = make_expand(value, vars)
  end
  return table.concat(extras, " ")
end

-- A program's path and where its symlinks lead (alternatives included), canonical path last;
-- nil when it is not a file on PATH (a builtin, or missing).
local function chain_of(prog)
  local p = trim(support.sh("command -v " .. q(prog) .. " 2>/dev/null"))
  if not p:find("^/") then return nil end
  local chain = { p }
  for _ = 1, 10 do
    local target = trim(support.sh("readlink " .. q(p) .. " 2>/dev/null"))
    if target == "" then break end
    if not target:find("^/") then target = p:match("^(.*)/") .. "/" .. target end
    p = target
    chain[#chain + 1] = p
  end
  chain[#chain + 1] = trim(support.sh("readlink -f " .. q(chain[1])))
  return chain
end

-- With Debian's merged /usr, dpkg may know /bin/x for /usr/bin/x, or the other way round.
local function usr_variants(path)
  local other = path:match("^/usr(/s?bin/.*)") or path:match("^/usr(/lib/.*)")
  other = other or ((path:find("^/s?bin/") or path:find("^/lib/")) and "/usr" .. path)
  return other and { path, other } or { path }
end

-- dpkg -S for many paths at once: { [path] = { package, ... } } (the architecture left off).
local function owners(paths)
  local quoted = {}
  for _, p in ipairs(paths) do quoted[#quoted + 1] = q(p) end
  local out = {}
  if #quoted == 0 then return out end
  for line in support.sh("dpkg -S " .. table.concat(quoted, " ") .. " 2>/dev/null"):gmatch("[^\n]+") do
    local pkgs, path = line:match("^(.-): (/.*)$")
    if pkgs and not line:find("^diversion by") then
      out[path] = out[path] or {}
      for pkg in pkgs:gmatch("[^,%s]+") do table.insert(out[path], (pkg:gsub(":.*", ""))) end
    end
  end
  return out
end

-- The installed packages: { [name] = { essential =, required =, deps = { name, ... } } }, and
-- { [virtual] = { provider, ... } }.
local function installed_packages()
  local pkgs, provides = {}, {}
  local format = "${Package}\\t${Status}\\t${Essential}\\t${Priority}\\t${Provides}\\t"
    .. "${Pre-Depends}, ${Depends}\\n"
  for line in support.sh("dpkg-query -W -f='" .. format .. "'"):gmatch("[^\n]+") do
    local f = {}
    for field in (line .. "\t"):gmatch("([^\t]*)\t") do f[#f + 1] = field end
    local name, status, essential, priority = f[1], f[2] or "", f[3], f[4]
    local provided, deps = f[5] or "", f[6] or ""
    if name and status:find(" installed$") then
      local p = { essential = essential == "yes", required = priority == "required", deps = {} }
      for dep in deps:gmatch("[^,|]+") do p.deps[#p.deps + 1] = dep:match("^%s*([%w.+-]+)") end
      pkgs[name] = p
      for v in provided:gmatch("[^,]+") do
        local vname = v:match("^%s*([%w.+-]+)")
        if vname then
          provides[vname] = provides[vname] or {}
          table.insert(provides[vname], name)
        end
      end
    end
  end
  return pkgs, provides
end

-- What installing the list installs: the packages and, as far as this machine knows, their
-- Pre-Depends and Depends, all the way down (apt-get --no-install-recommends: no Recommends).
local function closure(list, pkgs, provides)
  local seen, queue = {}, {}
  for _, p in ipairs(list) do queue[#queue + 1] = p end
  while #queue > 0 do
    local p = table.remove(queue)
    if not seen[p] then
      seen[p] = true
      for _, d in ipairs(pkgs[p] and pkgs[p].deps or {}) do queue[#queue + 1] = d end
      for _, d in ipairs(provides[p] or {}) do queue[#queue + 1] = d end
    end
  end
  return seen
end

describe("Debian packages: scripts/install-deps installs what the build and the tests run", function()
  local programs, order, makefile, extras, list
  setup(function()
    programs, order, makefile = discover()
    extras = makefile_extras(makefile)
    list = {}
    for p in support.sh(("EXTRA_PACKAGES=%s scripts/install-deps --list"):format(q(extras))):gmatch("%S+") do
      list[#list + 1] = p
    end
  end)

  it("install-deps --list prints its packages and EXTRA_PACKAGES, one a line, and installs nothing", function()
    local dir = support.tmpdir()
    -- an apt-get and a sudo that only leave a mark: --list must not reach them
    for _, name in ipairs({ "apt-get", "sudo" }) do
      support.write(dir .. "/" .. name, "#!/bin/sh\ntouch \"$(dirname \"$0\")/ran\"\nexit 1\n")
    end
    local function list_with(extra)
      return support.sh(("chmod +x '%s/apt-get' '%s/sudo' && PATH='%s':\"$PATH\" EXTRA_PACKAGES=%s "
        .. "scripts/install-deps --list; echo \"status $?\""):format(dir, dir, dir, q(extra)))
    end
    local plain = list_with("")
    assert.matches("^[%w.+-]+\n[%w.+-]+\n", plain)  -- one package a line
    assert.matches("^[%w.+\n-]+status 0\n$", plain)
    assert.same(plain:gsub("status 0\n$", "zz-not-a-package\nzz-another\nstatus 0\n"),
      list_with("zz-not-a-package  zz-another"))  -- not installable: only --list lets that pass
    assert.is_false(support.exists(dir .. "/ran"), "--list ran apt-get")
    support.sh("rm -rf '" .. dir .. "'")
  end)

  it("finds programs in the Makefile, scripts/, .ci/run and the specs (the scan is alive)", function()
    local function from(name, file)
      for _, where in ipairs(programs[name] or {}) do
        if where:sub(1, #file + 1) == file .. ":" then return true end
      end
      return false, ("%s not found in %s (found: %s)"):format(name, file, table.concat(order, " "))
    end
    for _, case in ipairs({
      { "luacheck", "Makefile" }, { "cppcheck", "Makefile" }, { "pkg-config", "Makefile" },
      { "git", "Makefile" }, { "npm", "Makefile" },
      { "dpkg-query", "scripts/install-deps" }, { "apt-get", "scripts/install-deps" },
      { "/usr/bin/busted", "scripts/run-tests" }, { "pkill", "scripts/run-tests" },
      { "timeout", ".ci/run" }, { "tee", ".ci/run" }, { "sed", ".ci/run" },
      { "luarocks", "spec/05-packaging_spec.lua" }, { "tmux", "spec/15-terminal_spec.lua" },
      { "nvim", "spec/12-hosts_spec.lua" }, { "openssl", "spec/09-security_spec.lua" },
      { "nginx", "spec/hosts/relay.lua" }, { "curl", "spec/support.lua" },
    }) do
      assert(from(case[1], case[2]))
    end
    for _, name in ipairs({ "echo", "cd", "run", "count", "M", "s", "status" }) do
      assert.is_nil(programs[name], name .. " is no program")
    end
    assert.matches("clang%-%d+ libclang%-rt%-%d+%-dev", extras)  -- CLANG_PACKAGES, expanded
    assert.matches("valgrind", extras)
  end)

  -- A program is provided when a package owning its path, or a symlink on the way (the
  -- alternatives' /etc/alternatives/x, /usr/bin/pkg-config -> pkgconf), is in install-deps' list,
  -- or comes with one of them (gcc brings gcc-12, pkg-config brings pkgconf), or is essential or
  -- of priority required (coreutils, sed, grep, dpkg, apt: on every Debian system).
  it("every program they run is from a Debian package install-deps installs (or an essential one)", function()
    local pkgs, provides = installed_packages()
    local installs = closure(list, pkgs, provides)
    local listed = set(table.concat(list, " "))
    local problems, chains, paths = {}, {}, {}
    local function where(name)
      local w = programs[name]
      return table.concat(w, ", ", 1, math.min(#w, 3)) .. (#w > 3 and (", and %d more"):format(#w - 3) or "")
    end
    for _, name in ipairs(order) do
      local chain = chain_of(name)
      if chain then
        chains[name] = chain
        for _, p in ipairs(chain) do
          for _, v in ipairs(usr_variants(p)) do paths[#paths + 1] = v end
        end
      elseif looks_like_program(name) and not NOT_PROGRAMS[name] and not name:find("^/") then
        problems[#problems + 1] = ("%s (%s) is not on PATH: add the Debian package that has it to scripts/install-deps "
          .. "(or, if it is no program, to NOT_PROGRAMS in spec/21-packages_spec.lua)"):format(name, where(name))
      elseif name:find("^/") then
        problems[#problems + 1] = ("%s (%s) does not exist"):format(name, where(name))
      end
    end
    local owner = owners(paths)
    local checked_programs, checked_packages = 0, {}
    for _, name in ipairs(order) do
      local chain = chains[name]
      if chain then
        local found, ok = {}, false
        for _, p in ipairs(chain) do
          for _, v in ipairs(usr_variants(p)) do
            for _, pkg in ipairs(owner[v] or {}) do
              if not found[pkg] then
                found[pkg] = true
                found[#found + 1] = pkg
                local info = pkgs[pkg] or {}
                ok = ok or installs[pkg] or info.essential or info.required
              end
            end
          end
        end
        checked_programs = checked_programs + 1
        for _, pkg in ipairs(found) do checked_packages[pkg] = true end
        if #found == 0 then
          problems[#problems + 1] = ("%s (%s) is %s, which no Debian package has: install it from a package "
            .. "scripts/install-deps names"):format(name, where(name), table.concat(chain, " -> "))
        elseif not ok then
          local direct = {}
          for _, pkg in ipairs(found) do if not listed[pkg] then direct[#direct + 1] = pkg end end
          problems[#problems + 1] = ("%s (%s) is %s from Debian package %s, missing from scripts/install-deps "
            .. "(not listed, nor installed with a listed package, nor essential)")
            :format(name, where(name), chain[#chain], table.concat(direct, " or "))
        end
      end
    end
    local n = 0
    for _ in pairs(checked_packages) do n = n + 1 end
    print(("\nspec/21-packages_spec.lua: %d programs checked, from %d Debian packages; "
      .. "install-deps --list: %d packages"):format(checked_programs, n, #list))
    assert(#problems == 0, "\n" .. table.concat(problems, "\n"))
  end)

  -- Installed, or known to apt. Without apt's lists (apt-get update never ran) a package not
  -- installed cannot be looked up: it is let pass.
  it("every package scripts/install-deps names, with the Makefile's EXTRA_PACKAGES, exists in Debian", function()
    local missing = {}
    local lists = support.sh("ls /var/lib/apt/lists/ 2>/dev/null | grep -c '_Packages' || true"):match("%d+")
    for _, pkg in ipairs(list) do
      local status = support.sh(("dpkg-query -W -f='${Status}' %s 2>/dev/null"):format(q(pkg)))
      if not status:find(" installed$") then
        local shown = support.sh(("apt-cache show %s >/dev/null 2>&1 && echo yes"):format(q(pkg)))
        if shown ~= "yes\n" and lists ~= "0" then missing[#missing + 1] = pkg end
      end
    end
    assert.same({}, missing)
  end)
end)

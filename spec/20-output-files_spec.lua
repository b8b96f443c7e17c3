-- download{ output = p } leaves files and devices as they were: a folder or a missing parent
-- fails before any request; a symlink is followed (the link stays); a FIFO or a device is
-- written as it is; a replaced file keeps its permission bits; overwrite = false never
-- replaces a file, even one that appears mid-way; fsync = true; the temporary file is not
-- inherited by child processes.
local support = require("support")

describe("output files", function()
  local client, dir, id
  local content = ("0123456789"):rep(100000)  -- 1 MB
  setup(function()
    client = support.client()
    dir = support.tmpdir()
    id = assert(client.files.upload{ file = { file_name = "o.bin", content = content } }).id
  end)
  teardown(function() client:close() end)
  before_each(function() support.reset() end)

  local function ls(path) return support.sh("ls -ld '" .. path .. "'") end
  local function leftovers() return support.sh("ls -a '" .. dir .. "' | grep -c '\\.part$'"):match("%d+") end

  it("a folder fails before any request is sent", function()
    support.sh("mkdir -p '" .. dir .. "/folder'")
    local ok, err = client.files.download(id, { output = dir .. "/folder" })
    assert.is_nil(ok)
    assert.same("io", err.kind)
    assert.same("cannot write '" .. dir .. "/folder': Is a directory", err.message)
    assert.same({}, support.requests())
  end)

  it("a missing parent folder fails before any request is sent", function()
    local ok, err = client.files.download(id, { output = dir .. "/missing/out.bin" })
    assert.is_nil(ok)
    assert.same("cannot write '" .. dir .. "/missing/out.bin': No such file or directory", err.message)
    assert.same({}, support.requests())
  end)

  it("a symlink is followed: its target replaced with the body, the link kept", function()
    support.write(dir .. "/target.bin", "old")
    support.sh(("cd '%s' && ln -sf target.bin link.bin && ln -sf link.bin link2.bin && ln -sf new.bin dangling.bin"):format(dir))
    assert.is_true(client.files.download(id, { output = dir .. "/link2.bin" }))
    assert.same(content, support.read(dir .. "/target.bin"))
    assert.matches("^l", ls(dir .. "/link.bin"))
    assert.matches("^l", ls(dir .. "/link2.bin"))
    assert.is_true(client.files.download(id, { output = dir .. "/dangling.bin" }))  -- the target is created
    assert.matches("^l", ls(dir .. "/dangling.bin"))
    assert.same(content, support.read(dir .. "/new.bin"))
    assert.same("0", leftovers())
  end)

  it("a FIFO is written as it is: no temporary file, no rename, still a FIFO", function()
    local fifo = dir .. "/fifo"
    support.sh("mkfifo '" .. fifo .. "'")
    local reader = support.popen(("cat '%s' > '%s/from-fifo'"):format(fifo, dir))
    support.sh("sleep 0.2")  -- the reader has the FIFO open
    assert.is_true(client.files.download(id, { output = fifo }))
    reader:close()
    assert.is_true(support.read(dir .. "/from-fifo") == content)
    assert.matches("^p", ls(fifo))
    assert.same("0", leftovers())
  end)

  it("a FIFO that no process reads fails at once, before any request, instead of blocking", function()
    local fifo = dir .. "/lonely"
    support.sh("mkfifo '" .. fifo .. "'")
    local ok, err = client.files.download(id, { output = fifo })
    assert.is_nil(ok)
    assert.same("cannot write '" .. fifo .. "': it is a FIFO that no process reads", err.message)
    assert.same({}, support.requests())
    assert.matches("^p", ls(fifo))
  end)

  it("a character device is written as it is: /dev/null stays a device", function()
    assert.is_true(client.files.download(id, { output = "/dev/null" }))
    assert.matches("^c", ls("/dev/null"))
    assert.same("0", support.sh("ls -a /dev | grep -c '^null\\..*\\.part$'"):match("%d+"))
  end)

  it("a replaced file keeps its permission bits; a new one gets 0666 minus the umask", function()
    local kept = dir .. "/private.bin"
    support.write(kept, "old")
    support.sh("chmod 600 '" .. kept .. "'")
    assert.is_true(client.files.download(id, { output = kept }))
    assert.matches("^%-rw%-%-%-%-%-%-%- ", ls(kept))
    assert.same(content, support.read(kept))
    local fresh = dir .. "/fresh.bin"
    assert.is_true(client.files.download(id, { output = fresh }))
    local expected = support.sh("printf %o $(( 0666 & ~$(umask) ))")  -- the shell's arithmetic: 5.1 has no &
    assert.same(expected, support.sh("stat -c %a '" .. fresh .. "'"):match("%d+"))
  end)

  it("the temporary file is not inherited by a process started meanwhile", function()
    support.fault{ kind = "trickle", rate = 2 * 1024 * 1024, method = "GET" }
    local seen
    assert.is_true(client.files.download(id, { output = dir .. "/exec.bin", progress = function(done)
      if seen == nil and done > 0 then seen = support.sh("ls -l /proc/self/fd") end
    end }))
    assert.is_string(seen)
    assert.is_false(support.has(seen, ".part"), seen)
    assert.is_false(support.has(seen, "exec.bin"), seen)
  end)

  it("overwrite = false refuses an existing file before any request", function()
    local there = dir .. "/there.bin"
    support.write(there, "mine")
    local ok, err = client.files.download(id, { output = there, overwrite = false })
    assert.is_nil(ok)
    assert.same("cannot write '" .. there .. "': File exists", err.message)
    assert.same({}, support.requests())
    assert.same("mine", support.read(there))
  end)

  it("overwrite = false never replaces a file that appears while the body arrives", function()
    local late = dir .. "/late.bin"
    support.fault{ kind = "trickle", rate = 2 * 1024 * 1024, method = "GET" }
    local ok, err = client.files.download(id, { output = late, overwrite = false, progress = function(done)
      if done > 0 and not support.exists(late) then support.write(late, "theirs") end
    end })
    assert.is_nil(ok)
    assert.same("io", err.kind)
    assert.same("cannot write '" .. late .. "': File exists", err.message)
    assert.same("theirs", support.read(late))
    assert.same("0", leftovers())
  end)

  it("fsync = true writes the file as without it", function()
    assert.is_true(client.files.download(id, { output = dir .. "/synced.bin", fsync = true }))
    assert.same(content, support.read(dir .. "/synced.bin"))
    assert.has_error(function() client.files.download(id, { fsync = true }) end,
      "bad argument #2 to 'download' (options 'fsync' and 'overwrite' go with 'output')")
  end)
end)

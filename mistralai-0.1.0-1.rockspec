rockspec_format = "3.0"
package = "mistralai"
version = "0.1.0-1"
source = {
  -- Written by `make rockspec` from the Makefile's REPO_URL and the version. `luarocks make`
  -- and the source rock of `make dist` build from local files and fetch nothing.
  url = "git+https://github.com/mistralai-lua/mistralai-lua.git",
  tag = "v0.1.0",
}
description = {
  summary = "The Mistral AI Files API for Lua, over libcurl",
  detailed = [[
    Upload, list, retrieve, delete, download and sign Mistral AI files from Lua 5.1-5.4 and
    LuaJIT: a C core on libcurl that streams files from and to disk in constant memory, and a
    Lua layer with plain tables, errors as values and page iterators.
  ]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.1, < 5.5",
  "lua-cjson >= 2.1",
}
-- Check the library, not curl/curl.h: Debian keeps the headers in a multiarch folder that
-- luarocks does not search, while the compiler finds them on its own. Elsewhere, point
-- CURL_DIR (or CURL_INCDIR and CURL_LIBDIR) at the libcurl installation.
external_dependencies = {
  CURL = { library = "curl" },
}
build = {
  type = "builtin",
  modules = {
    ["mistralai.core"] = {
      sources = { "csrc/buffer.c", "csrc/callback.c", "csrc/core.c", "csrc/file.c", "csrc/headers.c",
        "csrc/json.c", "csrc/mime.c", "csrc/multi.c", "csrc/options.c", "csrc/output.c", "csrc/receive.c",
        "csrc/result.c", "csrc/transfer.c", "csrc/utf8.c", "csrc/wait.c" },
      libraries = { "curl" },
      incdirs = { "$(CURL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)" },
    },
    ["mistralai"] = "lua/mistralai/init.lua",
    ["mistralai.cancel"] = "lua/mistralai/cancel.lua",
    ["mistralai.check"] = "lua/mistralai/check.lua",
    ["mistralai.cli"] = "lua/mistralai/cli.lua",
    ["mistralai.cli_progress"] = "lua/mistralai/cli_progress.lua",
    ["mistralai.client"] = "lua/mistralai/client.lua",
    ["mistralai.compat"] = "lua/mistralai/compat.lua",
    ["mistralai.driver"] = "lua/mistralai/driver.lua",
    ["mistralai.encode"] = "lua/mistralai/encode.lua",
    ["mistralai.errors"] = "lua/mistralai/errors.lua",
    ["mistralai.files"] = "lua/mistralai/files.lua",
    ["mistralai.formats"] = "lua/mistralai/formats.lua",
    ["mistralai.http"] = "lua/mistralai/http.lua",
    ["mistralai.json"] = "lua/mistralai/json.lua",
    ["mistralai.jsonl"] = "lua/mistralai/jsonl.lua",
    ["mistralai.nvim"] = "lua/mistralai/nvim.lua",
    ["mistralai.poll_thread"] = "lua/mistralai/poll_thread.lua",
    ["mistralai.resty"] = "lua/mistralai/resty.lua",
    ["mistralai.resume"] = "lua/mistralai/resume.lua",
    ["mistralai.redact"] = "lua/mistralai/redact.lua",
    ["mistralai.retry"] = "lua/mistralai/retry.lua",
    ["mistralai.stream"] = "lua/mistralai/stream.lua",
    ["mistralai.tasks"] = "lua/mistralai/tasks.lua",
    ["mistralai.version"] = "lua/mistralai/version.lua",
    ["mistralai.server"] = "lua/mistralai/server/init.lua",
    ["mistralai.server.control"] = "lua/mistralai/server/control.lua",
    ["mistralai.server.handlers"] = "lua/mistralai/server/handlers.lua",
    ["mistralai.server.multipart"] = "lua/mistralai/server/multipart.lua",
    ["mistralai.server.pki"] = "lua/mistralai/server/pki.lua",
    ["mistralai.server.store"] = "lua/mistralai/server/store.lua",
  },
  install = {
    bin = { ["mistral-files"] = "bin/mistral-files" },
  },
  -- types/ holds the LuaLS annotations (a ---@meta file, never required): copied into the
  -- rock's folder, for an editor's workspace.library (docs/api.md says where).
  copy_directories = { "types" },
  -- Overrides merge into the table above: only what differs on Windows.
  platforms = {
    windows = {
      modules = {
        ["mistralai.core"] = { libraries = { "libcurl", "ws2_32" } },
      },
    },
  },
}

--- mistralai: the Mistral AI Files API for Lua, over libcurl.
---   local client = require("mistralai").new{ api_key = ... }
---   local f, err = client.files.upload{ file = "train.jsonl", purpose = "fine-tune" }
local client = require("mistralai.client")
local errors = require("mistralai.errors")

return {
  _VERSION = require("mistralai.version"),
  new = client.new,
  --- The defaults, for reading: { client = options of new, retry = the retry policy's }.
  defaults = { client = client.DEFAULTS, retry = require("mistralai.retry").defaults },
  --- A handle that cancels the operations given it as option `cancel` (mistralai.cancel).
  cancel_handle = require("mistralai.cancel").new,
  --- Is v an error value returned by this library?
  is_error = errors.is_error,
}

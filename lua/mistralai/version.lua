-- The rock's version, in one place (User-Agent, mistralai._VERSION, the rockspec).
return "0.1.0"

-- wrk script used by bench/run.sh: rotates through the requests of a file,
-- one per line, "METHOD<TAB>PATH<TAB>BODY" (BODY may be empty; a body is sent
-- as application/json). With TOKEN set in the environment every request
-- carries "Authorization: Bearer $TOKEN".
--
--   wrk ... -s bench/rotate.lua http://HOST:PORT -- requests.tsv
--
-- Each wrk thread starts at a different place in the list, so that two
-- threads do not send the same request at the same moment.
local requests = {}
local counter = 0
local threads = 0

function setup(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end

function init(args)
  local token = os.getenv("TOKEN")
  for line in io.lines(args[1]) do
    local method, path, body = line:match("^([^\t]*)\t([^\t]*)\t?(.*)$")
    if method and method ~= "" then
      local headers = { ["Host"] = wrk.headers["Host"] }
      if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
      if body == "" then
        body = nil
      else
        headers["Content-Type"] = "application/json"
      end
      requests[#requests + 1] = wrk.format(method, path, headers, body)
    end
  end
  if #requests == 0 then error("no requests in " .. tostring(args[1])) end
  counter = ((thread_index or 0) * 7919) % #requests
end

function request()
  counter = counter % #requests + 1
  return requests[counter]
end

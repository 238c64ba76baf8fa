-- wrk script: POST /insert with a 200-byte JSON record, 1,000 event names.
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"event":"load-%d","data":{"id":%d,"user":"user-%d","action":"update","amount":%d.25,"note":"%s"}}',
    counter % 1000, counter, counter % 977, counter % 10000, string.rep("x", 100))
  return wrk.format("POST", "/insert", {["Content-Type"] = "application/json"}, body)
end

-- wrk script for ./flashtix bench: sends one kind of request, counts answers by status per thread,
-- stops sending at a deadline or after a number of requests, and prints one JSON result line at the end.
--
-- Arguments (after `--` on the wrk command line), key=value:
--   mode=health|orders|reserve   GET /health, POST /orders, or POST /inventory/reserve
--   threads=N                    the -t given to wrk (to split a request budget between threads)
--   duration_ms=N                stop sending new requests after this long (0: no deadline)
--   requests=N                   stop sending after this many requests in all (0: no budget)
--   first_event=N events=N       event ids first_event .. first_event+events-1, one picked at random
--   quantity=N                   tickets per request
--   buyers=0|1                   1: every order names a buyer of its own (customer_email)
--   ticket_types=T1,T2,...       orders: each order asks for `quantity` tickets of one of these types
--                                (`items`), taken in turn; without it, `quantity` of the default type
--   opens_ms=N                   the sale opens at this Unix time in ms (0: open from the start). Before it
--                                each connection asks only every refresh_ms, and the next request after
--                                that is sent at the opening itself; the deadline counts from the opening
--   refresh_ms=N                 the pace of each connection before the opening (default 200)
--   nonce=S                      makes idempotency keys unique across runs
--   done_dir=DIR                 each thread writes DIR/<id> once it has stopped and every answer is in
--
-- Why a deadline of our own rather than wrk's -d: wrk abandons the requests in flight when -d runs
-- out, and an abandoned POST may still have taken tickets that no client was told about. Here each
-- connection stops sending at the deadline, the requests in flight are answered, and the thread
-- reports that it has drained; the driver then ends wrk (SIGINT). The tickets taken in the database
-- must then equal the successes counted here.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } flashtix_timeval;
  int gettimeofday(flashtix_timeval *tv, void *tz);
]]
local timeval = ffi.new("flashtix_timeval")

local function now_ms()
  ffi.C.gettimeofday(timeval, nil)
  return tonumber(timeval.tv_sec) * 1000 + tonumber(timeval.tv_usec) / 1000
end

-- Setup and done run in wrk's main Lua state; the rest runs in one state per thread.
local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local function parse_args(args)
  local options = {}
  for _, arg in ipairs(args) do
    local key, value = arg:match("^([%w_]+)=(.*)$")
    if not key then error("bad argument '" .. arg .. "': expected key=value") end
    options[key] = value
  end
  return options
end

function init(args)
  local options = parse_args(args)
  mode = options.mode or "health"
  local thread_count = tonumber(options.threads or "1")
  duration_ms = tonumber(options.duration_ms or "0")
  first_event = tonumber(options.first_event or "1")
  event_count = tonumber(options.events or "1")
  quantity = tonumber(options.quantity or "1")
  buyers = options.buyers == "1"
  ticket_types = {}
  for type_id in (options.ticket_types or ""):gmatch("%d+") do table.insert(ticket_types, tonumber(type_id)) end
  opens_ms = tonumber(options.opens_ms or "0")
  refresh_ms = tonumber(options.refresh_ms or "200")
  nonce = options.nonce or tostring(os.time())
  done_dir = options.done_dir

  -- The request budget split between threads; the first ones take the remainder.
  budget = nil
  local requests = tonumber(options.requests or "0")
  if requests > 0 then
    budget = math.floor(requests / thread_count)
    if id <= requests % thread_count then budget = budget + 1 end
  end

  math.randomseed(id * 7919 + os.time())
  scheduled = 0
  sent = 0
  received = 0
  statuses = {}
  codes = {}
  stopping = false
  drained = false
  t_first_ms = 0        -- first request sent
  t_last_ms = 0         -- last answer received
  t_last_ok_ms = 0      -- last success received
  t_first_sold_out_ms = 0
  received_open = 0     -- answers received at or after the opening (opens_ms)
  ok_types = {}         -- successes per ticket type (from the answer's items)

  if mode == "health" then
    method, path = "GET", "/health"
  elseif mode == "orders" then
    method, path = "POST", "/orders"
  elseif mode == "reserve" then
    method, path = "POST", "/inventory/reserve"
  else
    error("unknown mode '" .. mode .. "'")
  end
  headers = { ["Content-Type"] = "application/json" }
  deadline_ms = nil
end

local function pick_event()
  if event_count <= 1 then return first_event end
  return first_event + math.random(0, event_count - 1)
end

local function finish_if_drained()
  if stopping and not drained and received >= sent then
    drained = true
    if done_dir then
      local file = io.open(done_dir .. "/" .. id, "w")
      if file then file:close() end
    end
    wrk.thread:stop()
  end
end

-- Called before every request: 0 sends at once; past the deadline or the budget the connection idles.
function delay()
  local now = now_ms()
  if t_first_ms == 0 then
    t_first_ms = now
    if duration_ms > 0 then deadline_ms = math.max(now, opens_ms) + duration_ms end
  end
  -- Counted here, not in request(): every connection asks before its next request, so counting at
  -- request() would let all of them past the budget at once.
  if stopping or (deadline_ms and now >= deadline_ms) or (budget and scheduled >= budget) then
    stopping = true
    finish_if_drained()
    return 3600 * 1000
  end
  scheduled = scheduled + 1
  if now < opens_ms then
    -- Waiting for the opening: ask again after refresh_ms, or at the opening if that comes first (1 ms
    -- late rather than early: wrk's timers have whole milliseconds).
    return math.min(refresh_ms, math.floor(opens_ms - now) + 1)
  end
  return 0
end

function request()
  -- wrk calls request() once before the threads start, to inspect it; that one is never sent.
  if t_first_ms == 0 then return wrk.format(method, path, nil, nil) end
  sent = sent + 1
  if mode == "health" then
    return wrk.format(method, path, nil, nil)
  end
  -- One key per request: thread id + counter + run nonce. For orders it is the Idempotency-Key,
  -- for reserve the reservation_key (what orders sends inventory is its order id).
  local key = string.format("bench-%s-%d-%d", nonce, id, sent)
  local event_id = pick_event()
  local body
  if mode == "orders" then
    headers["Idempotency-Key"] = key
    if #ticket_types > 0 then
      -- The types in turn, each thread starting at another one.
      local type_id = ticket_types[(sent + id) % #ticket_types + 1]
      body = string.format('{"event_id":%d,"items":[{"ticket_type_id":%d,"quantity":%d}]}', event_id, type_id, quantity)
    elseif buyers then
      body = string.format('{"event_id":%d,"quantity":%d,"customer_email":"%s@bench.example"}', event_id, quantity, key)
    else
      body = string.format('{"event_id":%d,"quantity":%d}', event_id, quantity)
    end
  else
    body = string.format('{"event_id":%d,"quantity":%d,"reservation_key":"%s"}', event_id, quantity, key)
  end
  return wrk.format(method, path, headers, body)
end

function response(status, _, body)
  received = received + 1
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 300 then
    -- The problem document's stable code says why (sold_out, inventory_unavailable, ...).
    local code = body and body:match('"code"%s*:%s*"([^"]*)"') or "none"
    local key = status .. " " .. code
    codes[key] = (codes[key] or 0) + 1
  end
  local now = now_ms()
  t_last_ms = now
  if opens_ms > 0 and now >= opens_ms then received_open = received_open + 1 end
  if status >= 200 and status < 300 then
    t_last_ok_ms = now
    if #ticket_types > 0 then
      -- One item per order: the type the answer says was held.
      local type_id = body and body:match('"ticket_type_id"%s*:%s*(%d+)') or "none"
      ok_types[type_id] = (ok_types[type_id] or 0) + 1
    end
  elseif status == 409 and t_first_sold_out_ms == 0 then
    t_first_sold_out_ms = now
  end
  finish_if_drained()
end

-- A tiny JSON encoder for flat tables of numbers and strings (and one level of nesting).
local function encode(value)
  local kind = type(value)
  if kind == "number" then
    if value ~= value or value == math.huge or value == -math.huge then return "null" end
    if value == math.floor(value) then return string.format("%d", value) end
    return string.format("%.3f", value)
  elseif kind == "string" then
    return '"' .. value:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
  elseif kind == "boolean" then
    return tostring(value)
  elseif kind == "table" then
    local parts = {}
    for k, v in pairs(value) do
      table.insert(parts, encode(tostring(k)) .. ":" .. encode(v))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return "null"
end

local function min_nonzero(a, b)
  if a == 0 then return b end
  if b == 0 then return a end
  return math.min(a, b)
end

function done(summary, latency, _)
  local result = {
    statuses = {},
    codes = {},
    sent = 0,
    received = 0,
    t_first_ms = 0,
    t_last_ms = 0,
    t_last_ok_ms = 0,
    t_first_sold_out_ms = 0,
    threads_drained = 0,
    threads = #threads,
    received_open = 0,
    ok_types = {},
  }
  for _, thread in ipairs(threads) do
    result.sent = result.sent + (thread:get("sent") or 0)
    result.received = result.received + (thread:get("received") or 0)
    for status, count in pairs(thread:get("statuses") or {}) do
      local key = tostring(status)
      result.statuses[key] = (result.statuses[key] or 0) + count
    end
    for code, count in pairs(thread:get("codes") or {}) do
      result.codes[code] = (result.codes[code] or 0) + count
    end
    for type_id, count in pairs(thread:get("ok_types") or {}) do
      result.ok_types[type_id] = (result.ok_types[type_id] or 0) + count
    end
    result.received_open = result.received_open + (thread:get("received_open") or 0)
    result.opens_ms = thread:get("opens_ms") or 0
    result.t_first_ms = min_nonzero(result.t_first_ms, thread:get("t_first_ms") or 0)
    result.t_last_ms = math.max(result.t_last_ms, thread:get("t_last_ms") or 0)
    result.t_last_ok_ms = math.max(result.t_last_ok_ms, thread:get("t_last_ok_ms") or 0)
    result.t_first_sold_out_ms = min_nonzero(result.t_first_sold_out_ms, thread:get("t_first_sold_out_ms") or 0)
    if thread:get("drained") then result.threads_drained = result.threads_drained + 1 end
  end
  result.errors = {
    connect = summary.errors.connect,
    read = summary.errors.read,
    write = summary.errors.write,
    timeout = summary.errors.timeout,
  }
  result.wrk_requests = summary.requests
  result.wrk_duration_us = summary.duration
  -- wrk's latencies are in microseconds, measured from the write of a request to its full answer.
  result.latency_us = {
    p50 = latency:percentile(50),
    p90 = latency:percentile(90),
    p99 = latency:percentile(99),
    p999 = latency:percentile(99.9),
    max = latency.max,
    mean = latency.mean,
  }
  io.write("FLASHTIX_WRK_RESULT " .. encode(result) .. "\n")
end

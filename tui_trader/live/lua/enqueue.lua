-- enqueue: append an order event to queue:orders, deliver it at once to the publishing
-- engine's own consumer, and (optionally) take the strategy's lock for it, in one call.
-- KEYS[1] queue:orders   KEYS[2] runtime:{id}   KEYS[3] runtime:{id}:lock
-- ARGV[1] group   ARGV[2] consumer   ARGV[3] count   ARGV[4] maxlen
-- ARGV[5] '1' to take the lock, else '0'   ARGV[6..8] as acquire's ARGV[1..3]
-- ARGV[9..] the entry's field/value pairs
-- Returns {entry id, XREADGROUP reply or false when the group is missing, acquire reply or false}.
-- `acquire(KEYS, ARGV)` is acquire.lua, prepended by the loader as a local function.
local fields = {}
for i = 9, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', unpack(fields))
-- pcall: a group lost with Redis's data is recreated by the caller, which then reads the entry.
local taken = redis.pcall('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3],
  'STREAMS', KEYS[1], '>')
if type(taken) == 'table' and taken.err then
  taken = false
end
local locked = false
if ARGV[5] == '1' then
  locked = acquire({KEYS[2], KEYS[3]}, {ARGV[6], ARGV[7], ARGV[8]})
end
return {id, taken, locked}

-- move: set a strategy's runtime position, only from a position its lifecycle table allows.
-- KEYS[1] runtime:{id}
-- ARGV[1] the new position   ARGV[2] the allowed current positions, comma-separated
-- ARGV[3] order field ('' for none)   ARGV[4] order id
-- Returns {status, position before}: OK | ILLEGAL (nothing written) | MISSING (no runtime
-- hash: the strategy is not running, and writing would bring it back).
local position = redis.call('HGET', KEYS[1], 'position')
if not position then
  return {'MISSING', ''}
end
local allowed = false
for source in string.gmatch(ARGV[2], '[^,]+') do
  if source == position then allowed = true end
end
if not allowed then
  return {'ILLEGAL', position}
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'position', ARGV[1], ARGV[3], ARGV[4])
else
  redis.call('HSET', KEYS[1], 'position', ARGV[1])
end
return {'OK', position}

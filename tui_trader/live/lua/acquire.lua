-- acquire: take a strategy's transition lock, but only if its position allows the event.
-- KEYS[1] runtime:{id}   KEYS[2] runtime:{id}:lock
-- ARGV[1] the position the event requires (none|bought)   ARGV[2] owner token   ARGV[3] ttl ms
-- Returns {status, position}: OK | BUSY | NOT_ALLOWED | MISSING (no runtime hash).
-- One script, so the check and the SET cannot be split by another executor's call.
local holder = redis.call('GET', KEYS[2])
local position = redis.call('HGET', KEYS[1], 'position')
if holder then
  if holder == ARGV[2] then
    -- Our own earlier call whose reply was lost and which the client retried: the lock is
    -- already ours, and nobody else can have moved the position while we hold it.
    return {'OK', position or ''}
  end
  return {'BUSY', position or ''}
end
if not position then
  return {'MISSING', ''}
end
if position ~= ARGV[1] then
  return {'NOT_ALLOWED', position}
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3], 'NX')
-- lock_state mirrors the lock for readers of the hash (the UI); the lock key is authoritative.
redis.call('HSET', KEYS[1], 'lock_state', '1')
return {'OK', position}

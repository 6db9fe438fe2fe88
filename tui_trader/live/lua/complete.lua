-- complete: the lock owner records the transition and frees the lock, in one step.
-- KEYS[1] runtime:{id}   KEYS[2] runtime:{id}:lock
-- ARGV[1] owner token   ARGV[2] new position   ARGV[3] order field ('' for none)   ARGV[4] order id
-- ARGV[5] the positions the lifecycle table allows to move to the new one, comma-separated
-- Returns 'OK', 'LOST_LOCK' when the lock expired or belongs to someone else (then nothing
-- is written: a late executor must not overwrite the state a newer owner produced), or
-- 'ILLEGAL' when the position held may not move to the new one (nothing written either).
local holder = redis.call('GET', KEYS[2])
if holder ~= ARGV[1] then
  -- A client retry whose first attempt succeeded but whose reply was lost: the lock is gone
  -- and our (unique) order id is already recorded with our position. Report it done.
  if not holder and ARGV[3] ~= '' then
    local seen = redis.call('HMGET', KEYS[1], 'position', ARGV[3])
    if seen[1] == ARGV[2] and seen[2] == ARGV[4] then
      return 'OK'
    end
  end
  return 'LOST_LOCK'
end
local current = redis.call('HGET', KEYS[1], 'position')
local allowed = false
for source in string.gmatch(ARGV[5], '[^,]+') do
  if source == current then allowed = true end
end
if not allowed then
  return 'ILLEGAL'
end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'position', ARGV[2], ARGV[3], ARGV[4], 'lock_state', '0')
else
  redis.call('HSET', KEYS[1], 'position', ARGV[2], 'lock_state', '0')
end
redis.call('DEL', KEYS[2])
return 'OK'

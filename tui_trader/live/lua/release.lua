-- release: the lock owner gives the lock up without a transition (e.g. the order failed).
-- KEYS[1] runtime:{id}   KEYS[2] runtime:{id}:lock   ARGV[1] owner token
-- Returns 1 if it released the lock, 0 if the lock was not the caller's.
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[2])
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'lock_state', '0')
end
return 1

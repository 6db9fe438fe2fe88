-- extend: the lock owner pushes the lock's expiry out (a slow broker call).
-- KEYS[1] runtime:{id}:lock   ARGV[1] owner token   ARGV[2] ttl ms
-- Returns 1 if extended, 0 if the lock was not the caller's (expired or taken over).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1

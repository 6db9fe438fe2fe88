-- daily_stats: add to a strategy's counters for one IST trading day, keeping P&L exact.
-- KEYS[1] stats:daily:{id}
-- ARGV[1] day (YYYY-MM-DD)  ARGV[2] trades  ARGV[3] wins  ARGV[4] losses
-- ARGV[5] pnl delta as a plain decimal string ("-12.50")  ARGV[6] ttl seconds
-- Returns {'OK', day, trades, wins, losses, pnl} or {'STALE', stored_day} when the increment
-- is for a day older than the one stored (a late fill after the day rolled over).
--
-- Lua numbers are doubles and HINCRBYFLOAT is a double too, so the P&L is kept as a decimal
-- string and added digit by digit here: 1,000 x 0.05 is exactly 50.00, never 49.99999999.

local function parse(s)
  local sign = 1
  local first = string.sub(s, 1, 1)
  if first == '-' then
    sign = -1
    s = string.sub(s, 2)
  elseif first == '+' then
    s = string.sub(s, 2)
  end
  local ip, fp = string.match(s, '^(%d*)%.?(%d*)$')
  if ip == nil or (ip == '' and fp == '') then
    return nil
  end
  return sign, ip, fp
end

local function dec_add(x, y)
  local sx, ix, fx = parse(x)
  local sy, iy, fy = parse(y)
  if sx == nil or sy == nil then
    return nil
  end
  local il = math.max(#ix, #iy)
  local fl = math.max(#fx, #fy)
  -- Align both magnitudes to the same integer and fraction widths, as plain digit strings.
  local a = string.rep('0', il - #ix) .. ix .. fx .. string.rep('0', fl - #fx)
  local b = string.rep('0', il - #iy) .. iy .. fy .. string.rep('0', fl - #fy)
  local n = #a
  local out = {}
  local sign
  local lead = ''
  if sx == sy then
    sign = sx
    local carry = 0
    for i = n, 1, -1 do
      local d = string.byte(a, i) + string.byte(b, i) - 96 + carry
      if d >= 10 then
        out[i] = d - 10
        carry = 1
      else
        out[i] = d
        carry = 0
      end
    end
    if carry == 1 then
      lead = '1'
    end
  else
    -- Equal-width digit strings compare like the numbers they spell.
    if a < b then
      a, b = b, a
      sign = sy
    else
      sign = sx
    end
    local borrow = 0
    for i = n, 1, -1 do
      local d = string.byte(a, i) - string.byte(b, i) - borrow
      if d < 0 then
        out[i] = d + 10
        borrow = 1
      else
        out[i] = d
        borrow = 0
      end
    end
  end
  local digits = lead .. table.concat(out)
  local int_part = string.sub(digits, 1, #digits - fl)
  local frac_part = string.sub(digits, #digits - fl + 1)
  int_part = (string.gsub(int_part, '^0+', ''))
  if int_part == '' then
    int_part = '0'
  end
  if string.match(int_part .. frac_part, '^0*$') then
    sign = 1
  end
  local text = int_part
  if fl > 0 then
    text = text .. '.' .. frac_part
  end
  if sign < 0 then
    text = '-' .. text
  end
  return text
end

local day = ARGV[1]
local stored = redis.call('HGET', KEYS[1], 'day')
if stored and stored > day then
  return {'STALE', stored}
end
-- Compute before writing anything: a script error does not roll back earlier writes.
local base = '0'
if stored == day then
  base = redis.call('HGET', KEYS[1], 'pnl') or '0'
end
local pnl = dec_add(base, ARGV[5])
if pnl == nil then
  return redis.error_reply('ERR daily_stats: pnl is not a plain decimal')
end
if stored ~= day then
  -- First increment of a new trading day: yesterday's counters go (SQL keeps history).
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'day', day, 'trades', 0, 'wins', 0, 'losses', 0)
end
local trades = redis.call('HINCRBY', KEYS[1], 'trades', ARGV[2])
local wins = redis.call('HINCRBY', KEYS[1], 'wins', ARGV[3])
local losses = redis.call('HINCRBY', KEYS[1], 'losses', ARGV[4])
redis.call('HSET', KEYS[1], 'pnl', pnl)
redis.call('EXPIRE', KEYS[1], ARGV[6])
return {'OK', day, tostring(trades), tostring(wins), tostring(losses), pnl}

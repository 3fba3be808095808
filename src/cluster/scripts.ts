/**
 * The claim's compare-and-… steps, each one Lua script so that the compare and the write are one
 * atomic step in Redis. A claim's value is unique per claim (it carries a random claim id), so
 * "the value is still mine" means "nobody took it over since".
 */

/**
 * Heartbeat: extend the claim only if it is still ours, and refresh the stream's summary with it.
 * KEYS: claim, info. ARGV: our value, ttl ms, summary JSON ('' = leave it).
 * Returns 'ok' (extended), '' (no claim: it expired or Redis lost it) or the value of whoever holds it.
 */
export const EXTEND_IF_OWNED = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2]) end
  return 'ok'
end
if not cur then return '' end
return cur
`;

/**
 * Release: delete the claim (and its summary) only if it is still ours.
 * KEYS: claim, info. ARGV: our value. Returns 1 when deleted, 0 when not ours (or gone).
 */
export const DELETE_IF_OWNED = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2])
  return 1
end
return 0
`;

/**
 * Take over a claim this node left behind in an earlier life (same node id, a claim id it does not
 * hold now): replace it only if it is still exactly that value.
 * KEYS: claim. ARGV: the old value, our new value, ttl ms. Returns 1 when replaced, 0 otherwise.
 */
export const REPLACE_IF_UNCHANGED = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
`;

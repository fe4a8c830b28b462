-- Argo CD health of an influxdb.replication.dev resource (any of its kinds),
-- read from the conditions influxdb-replication-operator writes; the reasons
-- are those of docs/reasons.md. Only Lua's base and table
-- libraries are used, the ones Argo CD opens for health scripts.
local hs = {}

-- Ready=False/Unknown reasons of a resource being created, validated, or
-- waiting on a dependency that is starting: it will get there by itself.
local starting = {
  InstanceNotReady = true,
  RemoteConnectionNotReady = true,
  RemoteTokenPending = true,
  Validating = true,
  Unavailable = true,
  InUse = true,
  ChildrenNotReady = true, -- a ReplicationSet: its children are themselves shown
  BucketsNotListed = true,
}
-- Healthy=False reasons that mean data is not reaching the remote.
local broken = { RemoteError = true, DataLost = true, Stalled = true }

local function condition(type)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function says(c)
  local reason = c.reason or c.type
  if c.message ~= nil and c.message ~= "" then
    return reason .. ": " .. c.message
  end
  return reason
end

local ready = condition("Ready")
local synced = condition("Synced")
local annotations = obj.metadata.annotations or {}

if annotations["influxdb.replication.dev/paused"] == "true"
  or (synced ~= nil and synced.reason == "Paused")
  or (ready ~= nil and ready.reason == "Paused") then
  hs.status = "Suspended"
  if synced ~= nil and synced.reason == "Paused" then
    hs.message = synced.message
  elseif ready ~= nil and ready.reason == "Paused" then
    hs.message = ready.message
  else
    hs.message = "paused by the annotation influxdb.replication.dev/paused=true"
  end
  return hs
end

if ready == nil then
  hs.status = "Progressing"
  hs.message = "waiting for the operator to reconcile it"
  return hs
end

if ready.status ~= "True" then
  if starting[ready.reason] then
    hs.status = "Progressing"
  else
    hs.status = "Degraded"
  end
  hs.message = says(ready)
  return hs
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "generation " .. generation .. " is being applied (observed: " .. observed .. ")"
  return hs
end

if synced ~= nil and synced.status == "False" then
  -- Found but not matching (managementPolicy Observe): a person must act.
  hs.status = "Degraded"
  hs.message = says(synced)
  return hs
end

local healthy = condition("Healthy")
if healthy ~= nil and healthy.status == "False" and broken[healthy.reason] then
  hs.status = "Degraded"
  hs.message = says(healthy)
  return hs
end
local validated = condition("Validated")
if validated ~= nil and validated.status == "False" then
  hs.status = "Degraded"
  hs.message = says(validated)
  return hs
end

hs.status = "Healthy"
hs.message = ready.message or ""
if healthy ~= nil and healthy.status == "False" then
  -- A warning (the queue filling up, a growing backlog): still healthy.
  if hs.message == "" then
    hs.message = says(healthy)
  else
    hs.message = hs.message .. "; " .. says(healthy)
  end
end
return hs

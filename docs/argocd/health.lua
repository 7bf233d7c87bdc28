-- Argo CD health check for falcon.falconops.io: FalconInstallationToken,
-- ClusterFalconInstallationToken and FalconTokenSettings share it.
--
-- It reads the conditions every kind sets (Ready, Reconciling, Stalled, each with its
-- observedGeneration) and status.observedGeneration, which moves once the operator concluded on
-- a generation (reconciled it, or stalled on it). It uses only Lua's base and table libraries,
-- the ones Argo CD opens for a script from argocd-cm.
--
--   being deleted                                   -> Progressing
--   no status or no conditions yet                  -> Progressing
--   Stalled=True for this generation                -> Degraded    (a person must act)
--   status.observedGeneration behind the generation -> Progressing
--   Reconciling=True                                -> Progressing
--   Ready=True, reason TokenRevoked                 -> Suspended   (spec.revoked: true)
--   Ready=True                                      -> Healthy
--   Ready=False, or Ready missing/Unknown           -> Progressing

local hs = {}

local function find(conditions, conditionType)
  for _, c in ipairs(conditions or {}) do
    if c.type == conditionType then
      return c
    end
  end
  return nil
end

-- "Reason: message", or whichever of the two is set.
local function describe(c)
  if c == nil then
    return nil
  end
  if c.reason ~= nil and c.reason ~= "" and c.message ~= nil and c.message ~= "" then
    return c.reason .. ": " .. c.message
  end
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return c.reason
end

local generation = obj.metadata.generation
local status = obj.status
local conditions = nil
if status ~= nil then
  conditions = status.conditions
end

-- A condition speaks for the current spec when it was written for this generation.
local function current(c)
  return c ~= nil and (c.observedGeneration == nil or generation == nil or c.observedGeneration >= generation)
end

local ready = find(conditions, "Ready")
local reconciling = find(conditions, "Reconciling")
local stalled = find(conditions, "Stalled")

-- Argo CD itself reports "Pending deletion" before it runs a health script; this covers
-- other runners and keeps the cleanup's progress (reason Deleting) in the message.
if obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Being deleted"
  if ready ~= nil and ready.status ~= "True" then
    hs.message = describe(ready) or hs.message
  end
  return hs
end

if conditions == nil or #conditions == 0 then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

-- Ready's reason is the one docs/troubleshooting.md explains: it names what is wrong when
-- Ready is False for this generation; otherwise the condition that decided does.
local function explain(decider, fallback)
  if current(ready) and ready.status == "False" then
    return describe(ready)
  end
  return describe(decider) or fallback
end

-- Checked before observedGeneration, which an older operator version moved only on success.
if stalled ~= nil and stalled.status == "True" and current(stalled) then
  hs.status = "Degraded"
  hs.message = explain(stalled, "Stalled")
  return hs
end

if generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = explain(nil, "Waiting for the operator to reconcile generation " .. generation)
  return hs
end

if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = explain(reconciling, "Reconciling")
  return hs
end

if ready == nil or not current(ready) then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end

-- A token revoked because the spec says so is what was asked for: Ready, but not in use.
if ready.status == "True" and ready.reason == "TokenRevoked" then
  hs.status = "Suspended"
  hs.message = describe(ready)
  return hs
end

if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = describe(ready) or "Ready"
  -- A ClusterFalconInstallationToken leaves a namespace alone when a Secret of the same name
  -- belongs to someone else; say so even though the token itself is fine.
  local refused = {}
  for _, r in ipairs(status.refusedNamespaces or {}) do
    refused[#refused + 1] = (r.namespace or "?") .. " (" .. (r.reason or "refused") .. ")"
  end
  if #refused > 0 then
    hs.message = hs.message .. "; not published in " .. table.concat(refused, ", ")
  end
  return hs
end

hs.status = "Progressing"
hs.message = describe(ready) or "Waiting for the Ready condition"
return hs

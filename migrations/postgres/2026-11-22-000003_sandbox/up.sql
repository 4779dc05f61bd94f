-- The sandbox's tables moved to their own migration set, migrations/sandbox/, applied
-- only when the sandbox is on. This version stays so both main sets keep the same list.
SELECT 1;

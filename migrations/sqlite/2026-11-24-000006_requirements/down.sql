DROP TABLE requirement_confirmations;
DROP TABLE requirement_history;
DROP TABLE requirements;
DROP TABLE requirement_snapshots;

-- two sources
CREATE SOURCE a (x BIGINT);;
create source b (y varchar);
CREATE SINK c AS SELECT x FROM a;
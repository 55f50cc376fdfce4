/*
 * The tables and server-side functions, as numbered migrations. `{s}` is the quoted schema name.
 *
 * Every mutating function runs in the one implicit transaction of its `SELECT`, so it is atomic, and
 * reports an expected failure as a status row (`st` = 'check' with the kinds it saw, or 'quota')
 * instead of raising: raising would make node-postgres discard the connection, and the error code is
 * decided in TypeScript by vfs-core's check functions from those kinds. The checks below follow the
 * same order as those functions.
 *
 * Every function plans its statements once per session (force_generic_plan): they are all index
 * lookups whose plans do not depend on the values, and re-planning them on each call cost more than
 * running them.
 *
 * Locks: a file being changed is locked by its UPDATE (or FOR NO KEY UPDATE), so appends serialize on
 * it. Everything that adds a path (creations, mkdir, renames) takes a shared per-namespace advisory
 * "tree" lock, which rmdir and directory renames take exclusively: nothing appears inside a directory
 * while it is removed or moved, so no entry is ever orphaned. Since version 3 the namespace's row in
 * vfs_namespaces holds its usage (files, bytes), updated by every change in its transaction; it is the
 * last lock a function takes, and limits are checked by a conditional update of it (see V3). Since
 * version 4 its bytes count the names of files and directories as well as file sizes (see V4). Since
 * version 5 an entry may be a symbolic link, which counts as a file of its target's size (see V5).
 * Since version 6 times set in nanoseconds are kept exactly next to their milliseconds (see V6).
 * Since version 7 a file or link may have several names (hard links), whose rows all change together
 * and are locked in path order (see V7).
 */

/**
 * Advisory lock classes (first key): migrations (second key: hash of the schema name), and per
 * namespace (second key: `vfs_lock_key`) the tree lock 0x76667301 (and, before version 3, the quota
 * lock 0x76667302).
 */
export const LOCK_MIGRATE = 0x76667300;

const V1 = `
CREATE TABLE {s}.vfs_namespaces (
  ns text COLLATE "C" PRIMARY KEY,
  chunk_size integer NOT NULL CHECK (chunk_size > 0),
  created double precision NOT NULL
);

CREATE TABLE {s}.vfs_entries (
  ns text COLLATE "C" NOT NULL,
  path text COLLATE "C" NOT NULL,
  parent text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  kind text NOT NULL CHECK (kind IN ('file', 'directory')),
  ino bigint NOT NULL,
  size bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
  created double precision NOT NULL,
  modified double precision NOT NULL,
  accessed double precision NOT NULL,
  PRIMARY KEY (ns, path)
) WITH (fillfactor = 80);

-- (parent, ns), not (ns, parent): with (ns, parent) the planner ties that index with the primary key
-- for "ns = ? AND path = ?" while the table is small or unanalyzed, and a generic plan cached then
-- scans the whole namespace on every lookup. Leading with parent keeps the two unambiguous.
CREATE INDEX vfs_entries_parent ON {s}.vfs_entries (parent, ns);

CREATE SEQUENCE {s}.vfs_ino AS bigint;

CREATE TABLE {s}.vfs_chunks (
  ns text COLLATE "C" NOT NULL,
  ino bigint NOT NULL,
  idx bigint NOT NULL,
  data bytea NOT NULL,
  PRIMARY KEY (ns, ino, idx)
) WITH (fillfactor = 80);

-- Uncompressed out-of-line storage: substring() of a chunk fetches only the slices it needs.
ALTER TABLE {s}.vfs_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE FUNCTION {s}.vfs_lock_key(p_ns text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT hashtext('{name}/' || p_ns) $$;

CREATE FUNCTION {s}.vfs_open(p_ns text, p_cs integer, p_now double precision) RETURNS integer
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  INSERT INTO {s}.vfs_namespaces (ns, chunk_size, created) VALUES (p_ns, p_cs, p_now)
  ON CONFLICT (ns) DO NOTHING;
  INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
  VALUES (p_ns, '/', '', '', 'directory', nextval('{s}.vfs_ino'), 0, p_now, p_now, p_now)
  ON CONFLICT (ns, path) DO NOTHING;
  RETURN (SELECT chunk_size FROM {s}.vfs_namespaces WHERE ns = p_ns);
END $$;

CREATE FUNCTION {s}.vfs_drop(p_ns text) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  DELETE FROM {s}.vfs_chunks WHERE ns = p_ns;
  DELETE FROM {s}.vfs_entries WHERE ns = p_ns;
  DELETE FROM {s}.vfs_namespaces WHERE ns = p_ns;
END $$;

-- Quota check for growth; returns the name of the limit that would be exceeded, or NULL.
CREATE FUNCTION {s}.vfs_quota(p_ns text, p_creating boolean, p_old bigint, p_new bigint,
  p_max_bytes bigint, p_max_files bigint, p_max_file_size bigint) RETURNS text
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  IF p_max_file_size IS NOT NULL AND p_new > p_old AND p_new > p_max_file_size THEN
    RETURN 'maxFileSize';
  END IF;
  IF p_max_files IS NOT NULL AND p_creating
     AND (SELECT count(*) FROM {s}.vfs_entries WHERE ns = p_ns AND kind = 'file') >= p_max_files THEN
    RETURN 'maxFiles';
  END IF;
  IF p_max_bytes IS NOT NULL AND p_new > p_old
     AND (SELECT coalesce(sum(size), 0) FROM {s}.vfs_entries WHERE ns = p_ns) - p_old + p_new > p_max_bytes THEN
    RETURN 'maxBytes';
  END IF;
  RETURN NULL;
END $$;

-- write (mode 0: replace), writeAt (1) and append (2). n = the offset written at.
CREATE FUNCTION {s}.vfs_write(p_ns text, p_path text, p_parent text, p_name text, p_mode integer,
  p_off bigint, p_data bytea, p_now double precision, p_cs integer,
  p_max_bytes bigint, p_max_files bigint, p_max_file_size bigint, p_max_path integer,
  OUT st text, OUT k1 text, OUT k2 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  v_limited boolean := p_max_bytes IS NOT NULL OR p_max_files IS NOT NULL OR p_max_file_size IS NOT NULL;
  v_creating boolean := false;
  v_ino bigint;
  v_len bigint := length(p_data);
  v_off bigint := p_off;
  v_new bigint;
  v_limit text;
BEGIN
  IF p_max_bytes IS NOT NULL OR p_max_files IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(1986425602, {s}.vfs_lock_key(p_ns));
  END IF;
  IF p_mode = 0 AND NOT v_limited AND NOT octet_length(p_path) > p_max_path IS TRUE THEN
    -- A write usually creates: try to insert the entry and its chunks in one statement, and take the
    -- general way below when something is there already or the parent is not a directory.
    PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
    WITH ins AS (
      INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
      SELECT p_ns, p_path, p_parent, p_name, 'file', nextval('{s}.vfs_ino'), v_len, p_now, p_now, p_now
      WHERE EXISTS (SELECT 1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent AND e.kind = 'directory')
      ON CONFLICT (ns, path) DO NOTHING
      RETURNING ino
    ), chunks AS (
      INSERT INTO {s}.vfs_chunks (ns, ino, idx, data)
      SELECT p_ns, ins.ino, i, substring(p_data FROM (i * p_cs + 1)::integer FOR p_cs)
      FROM ins, generate_series(0, (v_len - 1) / p_cs) AS i
    )
    SELECT ino INTO v_ino FROM ins;
    IF FOUND THEN st := 'ok'; n := 0; RETURN; END IF;
  END IF;
  LOOP
    IF NOT v_limited THEN
      -- Fast path: the update locks the row and computes the new size from its latest version, so
      -- concurrent appends each get their own offset.
      UPDATE {s}.vfs_entries e SET
        size = CASE p_mode WHEN 0 THEN v_len WHEN 1 THEN greatest(e.size, p_off + v_len) ELSE e.size + v_len END,
        modified = p_now, accessed = p_now
      WHERE e.ns = p_ns AND e.path = p_path AND e.kind = 'file'
      RETURNING e.ino, CASE p_mode WHEN 2 THEN e.size - v_len ELSE p_off END INTO v_ino, v_off;
      IF FOUND THEN EXIT; END IF;
      IF octet_length(p_path) > p_max_path THEN
        SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path;
        IF k1 = 'directory' THEN st := 'check'; RETURN; END IF;
        IF k1 = 'file' THEN k1 := NULL; CONTINUE; END IF;
        st := 'name-too-long'; n := octet_length(p_path); RETURN;
      END IF;
      -- Creations share the tree lock; rmdir and directory renames take it exclusively.
      PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
      v_off := CASE WHEN p_mode = 2 THEN 0 ELSE p_off END;
      INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
      SELECT p_ns, p_path, p_parent, p_name, 'file', nextval('{s}.vfs_ino'), v_off + v_len, p_now, p_now, p_now
      WHERE EXISTS (SELECT 1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent AND e.kind = 'directory')
      ON CONFLICT (ns, path) DO NOTHING
      RETURNING ino INTO v_ino;
      IF FOUND THEN v_creating := true; EXIT; END IF;
      -- Something is there (a directory, or a file another creator just made), or the parent is
      -- not a directory.
      SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path;
      IF k1 = 'directory' THEN st := 'check'; RETURN; END IF;
      IF k1 = 'file' THEN k1 := NULL; CONTINUE; END IF;
      SELECT e.kind INTO k2 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent;
      IF k2 IS DISTINCT FROM 'directory' THEN st := 'check'; RETURN; END IF;
      k2 := NULL;
    ELSE
      SELECT e.ino, e.size INTO v FROM {s}.vfs_entries e
      WHERE e.ns = p_ns AND e.path = p_path AND e.kind = 'file' FOR NO KEY UPDATE;
      IF FOUND THEN
        v_off := CASE WHEN p_mode = 2 THEN v.size ELSE p_off END;
        v_new := CASE WHEN p_mode = 0 THEN v_len ELSE greatest(v.size, v_off + v_len) END;
        v_limit := {s}.vfs_quota(p_ns, false, v.size, v_new, p_max_bytes, p_max_files, p_max_file_size);
        IF v_limit IS NOT NULL THEN st := 'quota'; k1 := v_limit; n := v_new; RETURN; END IF;
        UPDATE {s}.vfs_entries SET size = v_new, modified = p_now, accessed = p_now
        WHERE ns = p_ns AND path = p_path;
        v_ino := v.ino;
        EXIT;
      END IF;
      SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path;
      IF k1 = 'directory' THEN st := 'check'; RETURN; END IF;
      IF k1 = 'file' THEN k1 := NULL; CONTINUE; END IF;
      IF octet_length(p_path) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_path); RETURN; END IF;
      PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
      SELECT e.kind INTO k2 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent;
      IF k2 IS DISTINCT FROM 'directory' THEN st := 'check'; RETURN; END IF;
      v_off := CASE WHEN p_mode = 2 THEN 0 ELSE p_off END;
      v_new := v_off + v_len;
      v_limit := {s}.vfs_quota(p_ns, true, 0, v_new, p_max_bytes, p_max_files, p_max_file_size);
      IF v_limit IS NOT NULL THEN st := 'quota'; k1 := v_limit; n := v_new; RETURN; END IF;
      INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
      VALUES (p_ns, p_path, p_parent, p_name, 'file', nextval('{s}.vfs_ino'), v_new, p_now, p_now, p_now)
      ON CONFLICT (ns, path) DO NOTHING
      RETURNING ino INTO v_ino;
      -- Lost a race with another creator: look again (its row is committed now).
      IF FOUND THEN v_creating := true; EXIT; END IF;
    END IF;
  END LOOP;

  IF v_len > 0 THEN
    -- The chunks the data covers. A partly covered chunk is merged with what is stored (read under
    -- the entry's row lock, which every writer of this file holds), padded with zeros if shorter.
    INSERT INTO {s}.vfs_chunks AS c (ns, ino, idx, data)
    SELECT p_ns, v_ino, g.i,
      CASE
        WHEN g.s = 0 AND g.e = p_cs OR p_mode = 0 OR v_creating OR old.data IS NULL THEN
          CASE WHEN g.s = 0 THEN ''::bytea ELSE decode(repeat('00', g.s), 'hex') END || g.piece
        WHEN length(old.data) = g.s THEN old.data || g.piece
        WHEN length(old.data) > g.s THEN overlay(old.data PLACING g.piece FROM g.s + 1)
        ELSE old.data || decode(repeat('00', g.s - length(old.data)), 'hex') || g.piece
      END
    FROM (
      SELECT i, s, e, substring(p_data FROM (i * p_cs + s - v_off + 1)::integer FOR e - s) AS piece
      FROM generate_series(v_off / p_cs, (v_off + v_len - 1) / p_cs) AS i,
        LATERAL (SELECT greatest(v_off - i * p_cs, 0)::integer AS s,
                        least(v_off + v_len - i * p_cs, p_cs)::integer AS e) AS b
    ) AS g
    LEFT JOIN LATERAL (
      SELECT o.data FROM {s}.vfs_chunks o
      WHERE p_mode <> 0 AND NOT v_creating AND NOT (g.s = 0 AND g.e = p_cs)
        AND o.ns = p_ns AND o.ino = v_ino AND o.idx = g.i
    ) AS old ON true
    ON CONFLICT (ns, ino, idx) DO UPDATE SET data = excluded.data;
  END IF;
  IF p_mode = 0 AND NOT v_creating THEN
    DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v_ino AND idx >= (v_len + p_cs - 1) / p_cs;
  END IF;
  st := 'ok'; n := v_off;
END $$;

CREATE FUNCTION {s}.vfs_set_size(p_ns text, p_path text, p_size bigint, p_now double precision,
  p_cs integer, p_max_bytes bigint, p_max_file_size bigint,
  OUT st text, OUT k1 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  v_limit text;
BEGIN
  IF p_max_bytes IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(1986425602, {s}.vfs_lock_key(p_ns));
  END IF;
  SELECT e.kind, e.ino, e.size INTO v FROM {s}.vfs_entries e
  WHERE e.ns = p_ns AND e.path = p_path FOR NO KEY UPDATE;
  IF NOT FOUND OR v.kind <> 'file' THEN st := 'check'; k1 := v.kind; RETURN; END IF;
  IF p_max_bytes IS NOT NULL OR p_max_file_size IS NOT NULL THEN
    v_limit := {s}.vfs_quota(p_ns, false, v.size, p_size, p_max_bytes, NULL, p_max_file_size);
    IF v_limit IS NOT NULL THEN st := 'quota'; k1 := v_limit; n := p_size; RETURN; END IF;
  END IF;
  IF p_size < v.size THEN
    DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v.ino AND idx >= (p_size + p_cs - 1) / p_cs;
    -- Cut the tail of the last chunk so a later extension reads zeros, not old bytes.
    UPDATE {s}.vfs_chunks SET data = substring(data FOR (p_size - idx * p_cs)::integer)
    WHERE ns = p_ns AND ino = v.ino AND idx = p_size / p_cs AND length(data) > p_size - idx * p_cs;
  END IF;
  UPDATE {s}.vfs_entries SET size = p_size, modified = p_now, accessed = p_now
  WHERE ns = p_ns AND path = p_path;
  st := 'ok';
END $$;

CREATE FUNCTION {s}.vfs_mkdir(p_ns text, p_path text, p_parent text, p_name text, p_now double precision,
  p_max_path integer, OUT st text, OUT k1 text, OUT k2 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
  SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path;
  IF FOUND OR p_path = '/' THEN st := 'check'; RETURN; END IF;
  IF octet_length(p_path) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_path); RETURN; END IF;
  SELECT e.kind INTO k2 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent;
  IF k2 IS DISTINCT FROM 'directory' THEN st := 'check'; RETURN; END IF;
  INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
  VALUES (p_ns, p_path, p_parent, p_name, 'directory', nextval('{s}.vfs_ino'), 0, p_now, p_now, p_now)
  ON CONFLICT (ns, path) DO NOTHING;
  IF NOT FOUND THEN
    st := 'check';
    k1 := coalesce((SELECT e.kind FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path), 'directory');
    RETURN;
  END IF;
  st := 'ok';
END $$;

-- n = 1 when the directory has entries.
CREATE FUNCTION {s}.vfs_rmdir(p_ns text, p_path text, OUT st text, OUT k1 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  n := 0;
  IF p_path = '/' THEN st := 'check'; k1 := 'directory'; RETURN; END IF;
  -- Exclusive: no creation inside the directory is in flight while it is checked and removed.
  PERFORM pg_advisory_xact_lock(1986425601, {s}.vfs_lock_key(p_ns));
  SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path FOR UPDATE;
  IF k1 IS DISTINCT FROM 'directory' THEN st := 'check'; RETURN; END IF;
  IF EXISTS (SELECT 1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.parent = p_path) THEN
    st := 'check'; n := 1; RETURN;
  END IF;
  DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path;
  st := 'ok';
END $$;

CREATE FUNCTION {s}.vfs_delete(p_ns text, p_path text, OUT st text, OUT k1 text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_ino bigint;
BEGIN
  DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path AND kind = 'file' RETURNING ino INTO v_ino;
  IF NOT FOUND THEN
    k1 := (SELECT e.kind FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path);
    st := 'check';
    RETURN;
  END IF;
  DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v_ino;
  st := 'ok';
END $$;

-- k1 = source kind, k2 = target kind, k3 = target parent kind; n = a path length over p_max_path.
CREATE FUNCTION {s}.vfs_rename(p_ns text, p_from text, p_to text, p_to_parent text, p_to_name text,
  p_max_path integer, OUT st text, OUT k1 text, OUT k2 text, OUT k3 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_kind text;
  v_target_ino bigint;
BEGIN
  IF p_from = '/' OR p_to = '/' THEN st := 'check'; RETURN; END IF;
  SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_from;
  IF NOT FOUND THEN st := 'check'; RETURN; END IF;
  IF p_from = p_to THEN st := 'ok'; RETURN; END IF;
  IF k1 = 'directory' THEN
    -- Nothing may be created inside the subtree while it moves.
    PERFORM pg_advisory_xact_lock(1986425601, {s}.vfs_lock_key(p_ns));
  ELSE
    PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
  END IF;
  SELECT e.kind INTO v_kind FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_from FOR UPDATE;
  IF NOT FOUND THEN k1 := NULL; st := 'check'; RETURN; END IF;
  IF v_kind <> k1 THEN
    -- Replaced by another kind between the look and the lock: start again.
    RAISE EXCEPTION 'entry changed kind during rename' USING ERRCODE = 'serialization_failure';
  END IF;
  SELECT e.kind, e.ino INTO k2, v_target_ino FROM {s}.vfs_entries e
  WHERE e.ns = p_ns AND e.path = p_to FOR UPDATE;
  IF k2 IS NULL AND p_max_path IS NOT NULL THEN
    IF octet_length(p_to) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_to); RETURN; END IF;
    IF k1 = 'directory' AND octet_length(p_to) > octet_length(p_from) THEN
      SELECT max(octet_length(e.path)) - octet_length(p_from) + octet_length(p_to) INTO n FROM {s}.vfs_entries e
      WHERE e.ns = p_ns AND e.path >= (p_from || '/') COLLATE "C" AND e.path < (p_from || '0') COLLATE "C";
      IF n > p_max_path THEN st := 'name-too-long'; RETURN; END IF;
      n := NULL;
    END IF;
  END IF;
  IF k1 = 'directory' AND left(p_to, length(p_from) + 1) = p_from || '/' THEN
    k2 := NULL; st := 'check'; RETURN;
  END IF;
  SELECT e.kind INTO k3 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_to_parent;
  IF k3 IS DISTINCT FROM 'directory' THEN k2 := NULL; st := 'check'; RETURN; END IF;
  IF k2 IS NOT NULL THEN
    IF k1 <> 'file' OR k2 <> 'file' THEN st := 'check'; RETURN; END IF;
    DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v_target_ino;
    DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_to;
  END IF;
  IF k1 = 'file' THEN
    UPDATE {s}.vfs_entries SET path = p_to, parent = p_to_parent, name = p_to_name
    WHERE ns = p_ns AND path = p_from;
  ELSE
    UPDATE {s}.vfs_entries SET
      path = p_to || substring(path FROM length(p_from) + 1),
      parent = CASE WHEN path = p_from THEN p_to_parent ELSE p_to || substring(parent FROM length(p_from) + 1) END,
      name = CASE WHEN path = p_from THEN p_to_name ELSE name END
    WHERE ns = p_ns AND (path = p_from
      OR (path >= (p_from || '/') COLLATE "C" AND path < (p_from || '0') COLLATE "C"));
  END IF;
  st := 'ok';
END $$;
`;

// create: an empty file where nothing is (O_CREAT | O_EXCL). The checks follow checkCreate and the
// limits' order; the primary key decides between concurrent creators, so exactly one inserts.
const V2 = `
CREATE FUNCTION {s}.vfs_create(p_ns text, p_path text, p_parent text, p_name text, p_now double precision,
  p_max_files bigint, p_max_path integer, OUT st text, OUT k1 text, OUT k2 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  IF p_path = '/' THEN st := 'check'; k1 := 'directory'; RETURN; END IF;
  IF p_max_files IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(1986425602, {s}.vfs_lock_key(p_ns));
  END IF;
  PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
  SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path;
  IF FOUND THEN st := 'check'; RETURN; END IF;
  IF octet_length(p_path) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_path); RETURN; END IF;
  SELECT e.kind INTO k2 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent;
  IF k2 IS DISTINCT FROM 'directory' THEN st := 'check'; RETURN; END IF;
  IF p_max_files IS NOT NULL THEN
    k1 := {s}.vfs_quota(p_ns, true, 0, 0, NULL, p_max_files, NULL);
    IF k1 IS NOT NULL THEN st := 'quota'; RETURN; END IF;
  END IF;
  INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
  VALUES (p_ns, p_path, p_parent, p_name, 'file', nextval('{s}.vfs_ino'), 0, p_now, p_now, p_now)
  ON CONFLICT (ns, path) DO NOTHING;
  IF NOT FOUND THEN
    -- Another creator committed first (the insert waited for it). Its entry may be gone again by
    -- now, but it was there when this creation ran.
    st := 'check';
    k1 := coalesce((SELECT e.kind FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path), 'file');
    RETURN;
  END IF;
  st := 'ok';
END $$;
`;

// The usage row: vfs_namespaces gains the namespace's file count and byte total (as in
// @eryx/vfs-sqlite), kept exact by every function in its own transaction, and limits are checked
// against it in O(1) instead of an aggregate over the namespace. The row is the last lock a function
// takes (after the entry rows it changes), so the lock order stays acyclic: with limits it is taken
// before the chunks are written (the check must come first), without limits only at the very end.
// Inode numbers still come from the sequence vfs_ino: a per-namespace counter would have to be
// locked before every insert, which breaks that order. The upgrade recounts every namespace once,
// with writers held off by the table locks.
const V3 = `
LOCK TABLE {s}.vfs_namespaces, {s}.vfs_entries, {s}.vfs_chunks IN EXCLUSIVE MODE;

ALTER TABLE {s}.vfs_namespaces
  ADD COLUMN files bigint NOT NULL DEFAULT 0 CHECK (files >= 0),
  ADD COLUMN bytes bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0),
  SET (fillfactor = 50);

UPDATE {s}.vfs_namespaces n SET files = u.files, bytes = u.bytes
FROM (
  SELECT ns, count(*) FILTER (WHERE kind = 'file') AS files, coalesce(sum(size), 0) AS bytes
  FROM {s}.vfs_entries GROUP BY ns
) AS u
WHERE n.ns = u.ns;

DROP FUNCTION {s}.vfs_quota(text, boolean, bigint, bigint, bigint, bigint, bigint);

-- Adds to the usage row; with limits only if the growth fits. Returns NULL, or the name of the limit
-- that would be exceeded (and changes nothing).
CREATE FUNCTION {s}.vfs_account(p_ns text, p_files bigint, p_bytes bigint,
  p_max_files bigint, p_max_bytes bigint) RETURNS text
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_files bigint;
BEGIN
  UPDATE {s}.vfs_namespaces SET files = files + p_files, bytes = bytes + p_bytes
  WHERE ns = p_ns
    AND (p_max_files IS NULL OR p_files <= 0 OR files + p_files <= p_max_files)
    AND (p_max_bytes IS NULL OR p_bytes <= 0 OR bytes + p_bytes <= p_max_bytes);
  IF FOUND THEN RETURN NULL; END IF;
  SELECT u.files INTO v_files FROM {s}.vfs_namespaces u WHERE u.ns = p_ns;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'namespace % no longer exists', p_ns USING ERRCODE = 'no_data_found';
  END IF;
  IF p_max_files IS NOT NULL AND p_files > 0 AND v_files + p_files > p_max_files THEN
    RETURN 'maxFiles';
  END IF;
  RETURN 'maxBytes';
END $$;

CREATE OR REPLACE FUNCTION {s}.vfs_write(p_ns text, p_path text, p_parent text, p_name text, p_mode integer,
  p_off bigint, p_data bytea, p_now double precision, p_cs integer,
  p_max_bytes bigint, p_max_files bigint, p_max_file_size bigint, p_max_path integer,
  OUT st text, OUT k1 text, OUT k2 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  v_limited boolean := p_max_bytes IS NOT NULL OR p_max_files IS NOT NULL;
  v_creating boolean := false;
  v_counted boolean := false;
  v_ino bigint;
  v_len bigint := length(p_data);
  v_off bigint := p_off;
  v_old bigint := 0;
  v_new bigint;
  v_limit text;
BEGIN
  IF p_mode = 0 AND NOT v_limited AND p_max_file_size IS NULL AND NOT octet_length(p_path) > p_max_path IS TRUE THEN
    -- A write usually creates: try to insert the entry and its chunks in one statement, and take the
    -- general way below when something is there already or the parent is not a directory.
    PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
    WITH ins AS (
      INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
      SELECT p_ns, p_path, p_parent, p_name, 'file', nextval('{s}.vfs_ino'), v_len, p_now, p_now, p_now
      WHERE EXISTS (SELECT 1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent AND e.kind = 'directory')
      ON CONFLICT (ns, path) DO NOTHING
      RETURNING ino
    ), chunks AS (
      INSERT INTO {s}.vfs_chunks (ns, ino, idx, data)
      SELECT p_ns, ins.ino, i, substring(p_data FROM (i * p_cs + 1)::integer FOR p_cs)
      FROM ins, generate_series(0, (v_len - 1) / p_cs) AS i
    )
    SELECT ino INTO v_ino FROM ins;
    IF FOUND THEN
      PERFORM {s}.vfs_account(p_ns, 1, v_len, NULL, NULL);
      st := 'ok'; n := 0; RETURN;
    END IF;
  END IF;
  LOOP
    -- The row lock serializes the writers of the file: concurrent appends each get their own offset.
    SELECT e.ino, e.size INTO v FROM {s}.vfs_entries e
    WHERE e.ns = p_ns AND e.path = p_path AND e.kind = 'file' FOR NO KEY UPDATE;
    IF FOUND THEN
      v_ino := v.ino;
      v_old := v.size;
      v_off := CASE WHEN p_mode = 2 THEN v.size ELSE p_off END;
      v_new := CASE WHEN p_mode = 0 THEN v_len ELSE greatest(v.size, v_off + v_len) END;
      IF p_max_file_size IS NOT NULL AND v_new > v_old AND v_new > p_max_file_size THEN
        st := 'quota'; k1 := 'maxFileSize'; n := v_new; RETURN;
      END IF;
      IF v_limited AND v_new > v_old THEN
        v_limit := {s}.vfs_account(p_ns, 0, v_new - v_old, NULL, p_max_bytes);
        IF v_limit IS NOT NULL THEN st := 'quota'; k1 := v_limit; n := v_new; RETURN; END IF;
        v_counted := true;
      END IF;
      UPDATE {s}.vfs_entries SET size = v_new, modified = p_now, accessed = p_now
      WHERE ns = p_ns AND path = p_path;
      EXIT;
    END IF;
    SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path;
    IF k1 = 'directory' THEN st := 'check'; RETURN; END IF;
    IF k1 = 'file' THEN k1 := NULL; CONTINUE; END IF;
    IF octet_length(p_path) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_path); RETURN; END IF;
    -- Creations share the tree lock; rmdir and directory renames take it exclusively.
    PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
    SELECT e.kind INTO k2 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent;
    IF k2 IS DISTINCT FROM 'directory' THEN st := 'check'; RETURN; END IF;
    k2 := NULL;
    v_off := CASE WHEN p_mode = 2 THEN 0 ELSE p_off END;
    v_new := v_off + v_len;
    IF p_max_file_size IS NOT NULL AND v_new > p_max_file_size THEN
      st := 'quota'; k1 := 'maxFileSize'; n := v_new; RETURN;
    END IF;
    INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
    VALUES (p_ns, p_path, p_parent, p_name, 'file', nextval('{s}.vfs_ino'), v_new, p_now, p_now, p_now)
    ON CONFLICT (ns, path) DO NOTHING
    RETURNING ino INTO v_ino;
    IF FOUND THEN
      v_creating := true;
      IF v_limited THEN
        v_limit := {s}.vfs_account(p_ns, 1, v_new, p_max_files, p_max_bytes);
        IF v_limit IS NOT NULL THEN
          DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path;
          st := 'quota'; k1 := v_limit; n := v_new; RETURN;
        END IF;
        v_counted := true;
      END IF;
      EXIT;
    END IF;
    -- Lost a race with another creator: look again (its row is committed now).
  END LOOP;

  IF v_len > 0 THEN
    -- The chunks the data covers. A partly covered chunk is merged with what is stored (read under
    -- the entry's row lock, which every writer of this file holds), padded with zeros if shorter.
    INSERT INTO {s}.vfs_chunks AS c (ns, ino, idx, data)
    SELECT p_ns, v_ino, g.i,
      CASE
        WHEN g.s = 0 AND g.e = p_cs OR p_mode = 0 OR v_creating OR old.data IS NULL THEN
          CASE WHEN g.s = 0 THEN ''::bytea ELSE decode(repeat('00', g.s), 'hex') END || g.piece
        WHEN length(old.data) = g.s THEN old.data || g.piece
        WHEN length(old.data) > g.s THEN overlay(old.data PLACING g.piece FROM g.s + 1)
        ELSE old.data || decode(repeat('00', g.s - length(old.data)), 'hex') || g.piece
      END
    FROM (
      SELECT i, s, e, substring(p_data FROM (i * p_cs + s - v_off + 1)::integer FOR e - s) AS piece
      FROM generate_series(v_off / p_cs, (v_off + v_len - 1) / p_cs) AS i,
        LATERAL (SELECT greatest(v_off - i * p_cs, 0)::integer AS s,
                        least(v_off + v_len - i * p_cs, p_cs)::integer AS e) AS b
    ) AS g
    LEFT JOIN LATERAL (
      SELECT o.data FROM {s}.vfs_chunks o
      WHERE p_mode <> 0 AND NOT v_creating AND NOT (g.s = 0 AND g.e = p_cs)
        AND o.ns = p_ns AND o.ino = v_ino AND o.idx = g.i
    ) AS old ON true
    ON CONFLICT (ns, ino, idx) DO UPDATE SET data = excluded.data;
  END IF;
  IF p_mode = 0 AND NOT v_creating THEN
    DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v_ino AND idx >= (v_len + p_cs - 1) / p_cs;
  END IF;
  IF NOT v_counted AND (v_creating OR v_new <> v_old) THEN
    PERFORM {s}.vfs_account(p_ns, CASE WHEN v_creating THEN 1 ELSE 0 END, v_new - v_old, NULL, NULL);
  END IF;
  st := 'ok'; n := v_off;
END $$;

CREATE OR REPLACE FUNCTION {s}.vfs_set_size(p_ns text, p_path text, p_size bigint, p_now double precision,
  p_cs integer, p_max_bytes bigint, p_max_file_size bigint,
  OUT st text, OUT k1 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  v_limit text;
BEGIN
  SELECT e.kind, e.ino, e.size INTO v FROM {s}.vfs_entries e
  WHERE e.ns = p_ns AND e.path = p_path FOR NO KEY UPDATE;
  IF NOT FOUND OR v.kind <> 'file' THEN st := 'check'; k1 := v.kind; RETURN; END IF;
  IF p_max_file_size IS NOT NULL AND p_size > v.size AND p_size > p_max_file_size THEN
    st := 'quota'; k1 := 'maxFileSize'; n := p_size; RETURN;
  END IF;
  IF p_max_bytes IS NOT NULL AND p_size > v.size THEN
    v_limit := {s}.vfs_account(p_ns, 0, p_size - v.size, NULL, p_max_bytes);
    IF v_limit IS NOT NULL THEN st := 'quota'; k1 := v_limit; n := p_size; RETURN; END IF;
  END IF;
  IF p_size < v.size THEN
    DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v.ino AND idx >= (p_size + p_cs - 1) / p_cs;
    -- Cut the tail of the last chunk so a later extension reads zeros, not old bytes.
    UPDATE {s}.vfs_chunks SET data = substring(data FOR (p_size - idx * p_cs)::integer)
    WHERE ns = p_ns AND ino = v.ino AND idx = p_size / p_cs AND length(data) > p_size - idx * p_cs;
  END IF;
  UPDATE {s}.vfs_entries SET size = p_size, modified = p_now, accessed = p_now
  WHERE ns = p_ns AND path = p_path;
  IF p_size < v.size OR p_size > v.size AND p_max_bytes IS NULL THEN
    PERFORM {s}.vfs_account(p_ns, 0, p_size - v.size, NULL, NULL);
  END IF;
  st := 'ok';
END $$;

CREATE OR REPLACE FUNCTION {s}.vfs_delete(p_ns text, p_path text, OUT st text, OUT k1 text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_ino bigint;
  v_size bigint;
BEGIN
  LOOP
    DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path AND kind = 'file'
    RETURNING ino, size INTO v_ino, v_size;
    EXIT WHEN FOUND;
    k1 := (SELECT e.kind FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path);
    -- A file renamed onto the path while the DELETE waited for the row it replaced: delete that one.
    CONTINUE WHEN k1 = 'file';
    st := 'check';
    RETURN;
  END LOOP;
  k1 := NULL;
  DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v_ino;
  PERFORM {s}.vfs_account(p_ns, -1, -v_size, NULL, NULL);
  st := 'ok';
END $$;

CREATE OR REPLACE FUNCTION {s}.vfs_create(p_ns text, p_path text, p_parent text, p_name text, p_now double precision,
  p_max_files bigint, p_max_path integer, OUT st text, OUT k1 text, OUT k2 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  IF p_path = '/' THEN st := 'check'; k1 := 'directory'; RETURN; END IF;
  PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
  SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path;
  IF FOUND THEN st := 'check'; RETURN; END IF;
  IF octet_length(p_path) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_path); RETURN; END IF;
  SELECT e.kind INTO k2 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent;
  IF k2 IS DISTINCT FROM 'directory' THEN st := 'check'; RETURN; END IF;
  INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
  VALUES (p_ns, p_path, p_parent, p_name, 'file', nextval('{s}.vfs_ino'), 0, p_now, p_now, p_now)
  ON CONFLICT (ns, path) DO NOTHING;
  IF NOT FOUND THEN
    -- Another creator committed first (the insert waited for it). Its entry may be gone again by
    -- now, but it was there when this creation ran.
    st := 'check';
    k1 := coalesce((SELECT e.kind FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path), 'file');
    RETURN;
  END IF;
  -- The usage row after the insert: it is the last lock taken.
  k1 := {s}.vfs_account(p_ns, 1, 0, p_max_files, NULL);
  IF k1 IS NOT NULL THEN
    DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path;
    st := 'quota'; RETURN;
  END IF;
  st := 'ok';
END $$;

-- k1 = source kind, k2 = target kind, k3 = target parent kind; n = a path length over p_max_path.
CREATE OR REPLACE FUNCTION {s}.vfs_rename(p_ns text, p_from text, p_to text, p_to_parent text, p_to_name text,
  p_max_path integer, OUT st text, OUT k1 text, OUT k2 text, OUT k3 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_kind text;
  v_target_ino bigint;
  v_target_size bigint;
BEGIN
  IF p_from = '/' OR p_to = '/' THEN st := 'check'; RETURN; END IF;
  SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_from;
  IF NOT FOUND THEN st := 'check'; RETURN; END IF;
  IF p_from = p_to THEN st := 'ok'; RETURN; END IF;
  IF k1 = 'directory' THEN
    -- Nothing may be created inside the subtree while it moves.
    PERFORM pg_advisory_xact_lock(1986425601, {s}.vfs_lock_key(p_ns));
  ELSE
    PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
  END IF;
  SELECT e.kind INTO v_kind FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_from FOR UPDATE;
  IF NOT FOUND THEN k1 := NULL; st := 'check'; RETURN; END IF;
  IF v_kind <> k1 THEN
    -- Replaced by another kind between the look and the lock: start again.
    RAISE EXCEPTION 'entry changed kind during rename' USING ERRCODE = 'serialization_failure';
  END IF;
  SELECT e.kind, e.ino, e.size INTO k2, v_target_ino, v_target_size FROM {s}.vfs_entries e
  WHERE e.ns = p_ns AND e.path = p_to FOR UPDATE;
  IF k2 IS NULL AND p_max_path IS NOT NULL THEN
    IF octet_length(p_to) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_to); RETURN; END IF;
    IF k1 = 'directory' AND octet_length(p_to) > octet_length(p_from) THEN
      SELECT max(octet_length(e.path)) - octet_length(p_from) + octet_length(p_to) INTO n FROM {s}.vfs_entries e
      WHERE e.ns = p_ns AND e.path >= (p_from || '/') COLLATE "C" AND e.path < (p_from || '0') COLLATE "C";
      IF n > p_max_path THEN st := 'name-too-long'; RETURN; END IF;
      n := NULL;
    END IF;
  END IF;
  IF k1 = 'directory' AND left(p_to, length(p_from) + 1) = p_from || '/' THEN
    k2 := NULL; st := 'check'; RETURN;
  END IF;
  SELECT e.kind INTO k3 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_to_parent;
  IF k3 IS DISTINCT FROM 'directory' THEN k2 := NULL; st := 'check'; RETURN; END IF;
  IF k2 IS NOT NULL THEN
    IF k1 <> 'file' OR k2 <> 'file' THEN st := 'check'; RETURN; END IF;
    DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v_target_ino;
    DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_to;
  END IF;
  IF k1 = 'file' THEN
    UPDATE {s}.vfs_entries SET path = p_to, parent = p_to_parent, name = p_to_name
    WHERE ns = p_ns AND path = p_from;
  ELSE
    UPDATE {s}.vfs_entries SET
      path = p_to || substring(path FROM length(p_from) + 1),
      parent = CASE WHEN path = p_from THEN p_to_parent ELSE p_to || substring(parent FROM length(p_from) + 1) END,
      name = CASE WHEN path = p_from THEN p_to_name ELSE name END
    WHERE ns = p_ns AND (path = p_from
      OR (path >= (p_from || '/') COLLATE "C" AND path < (p_from || '0') COLLATE "C"));
  END IF;
  IF v_target_ino IS NOT NULL THEN
    PERFORM {s}.vfs_account(p_ns, -1, -v_target_size, NULL, NULL);
  END IF;
  st := 'ok';
END $$;
`;

// Names count in maxBytes (issue #18): the usage row's bytes is the sum of file sizes plus the
// octet_length of every entry's name, files and directories (the root's name is '', so it counts
// nothing). Every function that adds, removes or renames an entry adds the name's bytes to its
// accounting; mkdir, create and rename gain an overload that takes maxBytes, since a directory or a
// longer name is now growth, and their old signatures stay (without a byte limit) for clients of the
// previous package version. Directory renames account after the move, as the row is the last lock,
// and move back when refused. The upgrade recounts every namespace once under the table locks.
const V4 = `
LOCK TABLE {s}.vfs_namespaces, {s}.vfs_entries IN EXCLUSIVE MODE;

UPDATE {s}.vfs_namespaces n SET files = u.files, bytes = u.bytes
FROM (
  SELECT ns, count(*) FILTER (WHERE kind = 'file') AS files,
    coalesce(sum(size + octet_length(name)), 0) AS bytes
  FROM {s}.vfs_entries GROUP BY ns
) AS u
WHERE n.ns = u.ns;

-- What the namespace would hold had a refused growth (of vfs_account) been made: its files for
-- maxFiles, else its bytes. For the error message only.
CREATE FUNCTION {s}.vfs_would_hold(p_ns text, p_limit text, p_files bigint, p_bytes bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
  SELECT CASE p_limit WHEN 'maxFiles' THEN files + p_files ELSE bytes + p_bytes END
  FROM {s}.vfs_namespaces WHERE ns = p_ns
$$;

CREATE OR REPLACE FUNCTION {s}.vfs_write(p_ns text, p_path text, p_parent text, p_name text, p_mode integer,
  p_off bigint, p_data bytea, p_now double precision, p_cs integer,
  p_max_bytes bigint, p_max_files bigint, p_max_file_size bigint, p_max_path integer,
  OUT st text, OUT k1 text, OUT k2 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  v_limited boolean := p_max_bytes IS NOT NULL OR p_max_files IS NOT NULL;
  v_creating boolean := false;
  v_counted boolean := false;
  v_ino bigint;
  v_len bigint := length(p_data);
  v_name bigint := octet_length(p_name);
  v_off bigint := p_off;
  v_old bigint := 0;
  v_new bigint;
  v_limit text;
BEGIN
  IF p_mode = 0 AND NOT v_limited AND p_max_file_size IS NULL AND NOT octet_length(p_path) > p_max_path IS TRUE THEN
    -- A write usually creates: try to insert the entry and its chunks in one statement, and take the
    -- general way below when something is there already or the parent is not a directory.
    PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
    WITH ins AS (
      INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
      SELECT p_ns, p_path, p_parent, p_name, 'file', nextval('{s}.vfs_ino'), v_len, p_now, p_now, p_now
      WHERE EXISTS (SELECT 1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent AND e.kind = 'directory')
      ON CONFLICT (ns, path) DO NOTHING
      RETURNING ino
    ), chunks AS (
      INSERT INTO {s}.vfs_chunks (ns, ino, idx, data)
      SELECT p_ns, ins.ino, i, substring(p_data FROM (i * p_cs + 1)::integer FOR p_cs)
      FROM ins, generate_series(0, (v_len - 1) / p_cs) AS i
    )
    SELECT ino INTO v_ino FROM ins;
    IF FOUND THEN
      PERFORM {s}.vfs_account(p_ns, 1, v_len + v_name, NULL, NULL);
      st := 'ok'; n := 0; RETURN;
    END IF;
  END IF;
  LOOP
    -- The row lock serializes the writers of the file: concurrent appends each get their own offset.
    SELECT e.ino, e.size INTO v FROM {s}.vfs_entries e
    WHERE e.ns = p_ns AND e.path = p_path AND e.kind = 'file' FOR NO KEY UPDATE;
    IF FOUND THEN
      v_ino := v.ino;
      v_old := v.size;
      v_off := CASE WHEN p_mode = 2 THEN v.size ELSE p_off END;
      v_new := CASE WHEN p_mode = 0 THEN v_len ELSE greatest(v.size, v_off + v_len) END;
      IF p_max_file_size IS NOT NULL AND v_new > v_old AND v_new > p_max_file_size THEN
        st := 'quota'; k1 := 'maxFileSize'; n := v_new; RETURN;
      END IF;
      IF v_limited AND v_new > v_old THEN
        v_limit := {s}.vfs_account(p_ns, 0, v_new - v_old, NULL, p_max_bytes);
        IF v_limit IS NOT NULL THEN
          st := 'quota'; k1 := v_limit; n := {s}.vfs_would_hold(p_ns, v_limit, 0, v_new - v_old); RETURN;
        END IF;
        v_counted := true;
      END IF;
      UPDATE {s}.vfs_entries SET size = v_new, modified = p_now, accessed = p_now
      WHERE ns = p_ns AND path = p_path;
      EXIT;
    END IF;
    SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path;
    IF k1 = 'directory' THEN st := 'check'; RETURN; END IF;
    IF k1 = 'file' THEN k1 := NULL; CONTINUE; END IF;
    IF octet_length(p_path) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_path); RETURN; END IF;
    -- Creations share the tree lock; rmdir and directory renames take it exclusively.
    PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
    SELECT e.kind INTO k2 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent;
    IF k2 IS DISTINCT FROM 'directory' THEN st := 'check'; RETURN; END IF;
    k2 := NULL;
    v_off := CASE WHEN p_mode = 2 THEN 0 ELSE p_off END;
    v_new := v_off + v_len;
    IF p_max_file_size IS NOT NULL AND v_new > p_max_file_size THEN
      st := 'quota'; k1 := 'maxFileSize'; n := v_new; RETURN;
    END IF;
    INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
    VALUES (p_ns, p_path, p_parent, p_name, 'file', nextval('{s}.vfs_ino'), v_new, p_now, p_now, p_now)
    ON CONFLICT (ns, path) DO NOTHING
    RETURNING ino INTO v_ino;
    IF FOUND THEN
      v_creating := true;
      IF v_limited THEN
        v_limit := {s}.vfs_account(p_ns, 1, v_new + v_name, p_max_files, p_max_bytes);
        IF v_limit IS NOT NULL THEN
          DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path;
          st := 'quota'; k1 := v_limit; n := {s}.vfs_would_hold(p_ns, v_limit, 1, v_new + v_name); RETURN;
        END IF;
        v_counted := true;
      END IF;
      EXIT;
    END IF;
    -- Lost a race with another creator: look again (its row is committed now).
  END LOOP;

  IF v_len > 0 THEN
    -- The chunks the data covers. A partly covered chunk is merged with what is stored (read under
    -- the entry's row lock, which every writer of this file holds), padded with zeros if shorter.
    INSERT INTO {s}.vfs_chunks AS c (ns, ino, idx, data)
    SELECT p_ns, v_ino, g.i,
      CASE
        WHEN g.s = 0 AND g.e = p_cs OR p_mode = 0 OR v_creating OR old.data IS NULL THEN
          CASE WHEN g.s = 0 THEN ''::bytea ELSE decode(repeat('00', g.s), 'hex') END || g.piece
        WHEN length(old.data) = g.s THEN old.data || g.piece
        WHEN length(old.data) > g.s THEN overlay(old.data PLACING g.piece FROM g.s + 1)
        ELSE old.data || decode(repeat('00', g.s - length(old.data)), 'hex') || g.piece
      END
    FROM (
      SELECT i, s, e, substring(p_data FROM (i * p_cs + s - v_off + 1)::integer FOR e - s) AS piece
      FROM generate_series(v_off / p_cs, (v_off + v_len - 1) / p_cs) AS i,
        LATERAL (SELECT greatest(v_off - i * p_cs, 0)::integer AS s,
                        least(v_off + v_len - i * p_cs, p_cs)::integer AS e) AS b
    ) AS g
    LEFT JOIN LATERAL (
      SELECT o.data FROM {s}.vfs_chunks o
      WHERE p_mode <> 0 AND NOT v_creating AND NOT (g.s = 0 AND g.e = p_cs)
        AND o.ns = p_ns AND o.ino = v_ino AND o.idx = g.i
    ) AS old ON true
    ON CONFLICT (ns, ino, idx) DO UPDATE SET data = excluded.data;
  END IF;
  IF p_mode = 0 AND NOT v_creating THEN
    DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v_ino AND idx >= (v_len + p_cs - 1) / p_cs;
  END IF;
  IF NOT v_counted AND (v_creating OR v_new <> v_old) THEN
    IF v_creating THEN
      PERFORM {s}.vfs_account(p_ns, 1, v_new + v_name, NULL, NULL);
    ELSE
      PERFORM {s}.vfs_account(p_ns, 0, v_new - v_old, NULL, NULL);
    END IF;
  END IF;
  st := 'ok'; n := v_off;
END $$;

CREATE OR REPLACE FUNCTION {s}.vfs_set_size(p_ns text, p_path text, p_size bigint, p_now double precision,
  p_cs integer, p_max_bytes bigint, p_max_file_size bigint,
  OUT st text, OUT k1 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  v_limit text;
BEGIN
  SELECT e.kind, e.ino, e.size INTO v FROM {s}.vfs_entries e
  WHERE e.ns = p_ns AND e.path = p_path FOR NO KEY UPDATE;
  IF NOT FOUND OR v.kind <> 'file' THEN st := 'check'; k1 := v.kind; RETURN; END IF;
  IF p_max_file_size IS NOT NULL AND p_size > v.size AND p_size > p_max_file_size THEN
    st := 'quota'; k1 := 'maxFileSize'; n := p_size; RETURN;
  END IF;
  IF p_max_bytes IS NOT NULL AND p_size > v.size THEN
    v_limit := {s}.vfs_account(p_ns, 0, p_size - v.size, NULL, p_max_bytes);
    IF v_limit IS NOT NULL THEN
      st := 'quota'; k1 := v_limit; n := {s}.vfs_would_hold(p_ns, v_limit, 0, p_size - v.size); RETURN;
    END IF;
  END IF;
  IF p_size < v.size THEN
    DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v.ino AND idx >= (p_size + p_cs - 1) / p_cs;
    -- Cut the tail of the last chunk so a later extension reads zeros, not old bytes.
    UPDATE {s}.vfs_chunks SET data = substring(data FOR (p_size - idx * p_cs)::integer)
    WHERE ns = p_ns AND ino = v.ino AND idx = p_size / p_cs AND length(data) > p_size - idx * p_cs;
  END IF;
  UPDATE {s}.vfs_entries SET size = p_size, modified = p_now, accessed = p_now
  WHERE ns = p_ns AND path = p_path;
  IF p_size < v.size OR p_size > v.size AND p_max_bytes IS NULL THEN
    PERFORM {s}.vfs_account(p_ns, 0, p_size - v.size, NULL, NULL);
  END IF;
  st := 'ok';
END $$;

CREATE OR REPLACE FUNCTION {s}.vfs_delete(p_ns text, p_path text, OUT st text, OUT k1 text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_ino bigint;
  v_bytes bigint;
BEGIN
  LOOP
    DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path AND kind = 'file'
    RETURNING ino, size + octet_length(name) INTO v_ino, v_bytes;
    EXIT WHEN FOUND;
    k1 := (SELECT e.kind FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path);
    -- A file renamed onto the path while the DELETE waited for the row it replaced: delete that one.
    CONTINUE WHEN k1 = 'file';
    st := 'check';
    RETURN;
  END LOOP;
  k1 := NULL;
  DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v_ino;
  PERFORM {s}.vfs_account(p_ns, -1, -v_bytes, NULL, NULL);
  st := 'ok';
END $$;

-- The checks follow checkMkdir; a mkdir that would fail anyway reports that, not the quota.
CREATE FUNCTION {s}.vfs_mkdir(p_ns text, p_path text, p_parent text, p_name text, p_now double precision,
  p_max_bytes bigint, p_max_path integer, OUT st text, OUT k1 text, OUT k2 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
  SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path;
  IF FOUND OR p_path = '/' THEN st := 'check'; RETURN; END IF;
  IF octet_length(p_path) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_path); RETURN; END IF;
  SELECT e.kind INTO k2 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent;
  IF k2 IS DISTINCT FROM 'directory' THEN st := 'check'; RETURN; END IF;
  INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
  VALUES (p_ns, p_path, p_parent, p_name, 'directory', nextval('{s}.vfs_ino'), 0, p_now, p_now, p_now)
  ON CONFLICT (ns, path) DO NOTHING;
  IF NOT FOUND THEN
    st := 'check';
    k1 := coalesce((SELECT e.kind FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path), 'directory');
    RETURN;
  END IF;
  -- The usage row after the insert: it is the last lock taken.
  k1 := {s}.vfs_account(p_ns, 0, octet_length(p_name), NULL, p_max_bytes);
  IF k1 IS NOT NULL THEN
    DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path;
    st := 'quota'; n := {s}.vfs_would_hold(p_ns, k1, 0, octet_length(p_name)); RETURN;
  END IF;
  st := 'ok';
END $$;

CREATE OR REPLACE FUNCTION {s}.vfs_mkdir(p_ns text, p_path text, p_parent text, p_name text, p_now double precision,
  p_max_path integer, OUT st text, OUT k1 text, OUT k2 text, OUT n bigint)
LANGUAGE sql AS $$ SELECT * FROM {s}.vfs_mkdir(p_ns, p_path, p_parent, p_name, p_now, NULL::bigint, p_max_path) $$;

-- n = 1 when the directory has entries.
CREATE OR REPLACE FUNCTION {s}.vfs_rmdir(p_ns text, p_path text, OUT st text, OUT k1 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_name bigint;
BEGIN
  n := 0;
  IF p_path = '/' THEN st := 'check'; k1 := 'directory'; RETURN; END IF;
  -- Exclusive: no creation inside the directory is in flight while it is checked and removed.
  PERFORM pg_advisory_xact_lock(1986425601, {s}.vfs_lock_key(p_ns));
  SELECT e.kind, octet_length(e.name) INTO k1, v_name FROM {s}.vfs_entries e
  WHERE e.ns = p_ns AND e.path = p_path FOR UPDATE;
  IF k1 IS DISTINCT FROM 'directory' THEN st := 'check'; RETURN; END IF;
  IF EXISTS (SELECT 1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.parent = p_path) THEN
    st := 'check'; n := 1; RETURN;
  END IF;
  DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path;
  PERFORM {s}.vfs_account(p_ns, 0, -v_name, NULL, NULL);
  st := 'ok';
END $$;

CREATE FUNCTION {s}.vfs_create(p_ns text, p_path text, p_parent text, p_name text, p_now double precision,
  p_max_bytes bigint, p_max_files bigint, p_max_path integer,
  OUT st text, OUT k1 text, OUT k2 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  IF p_path = '/' THEN st := 'check'; k1 := 'directory'; RETURN; END IF;
  PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
  SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path;
  IF FOUND THEN st := 'check'; RETURN; END IF;
  IF octet_length(p_path) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_path); RETURN; END IF;
  SELECT e.kind INTO k2 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent;
  IF k2 IS DISTINCT FROM 'directory' THEN st := 'check'; RETURN; END IF;
  INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
  VALUES (p_ns, p_path, p_parent, p_name, 'file', nextval('{s}.vfs_ino'), 0, p_now, p_now, p_now)
  ON CONFLICT (ns, path) DO NOTHING;
  IF NOT FOUND THEN
    -- Another creator committed first (the insert waited for it). Its entry may be gone again by
    -- now, but it was there when this creation ran.
    st := 'check';
    k1 := coalesce((SELECT e.kind FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path), 'file');
    RETURN;
  END IF;
  -- The usage row after the insert: it is the last lock taken.
  k1 := {s}.vfs_account(p_ns, 1, octet_length(p_name), p_max_files, p_max_bytes);
  IF k1 IS NOT NULL THEN
    DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path;
    st := 'quota'; n := {s}.vfs_would_hold(p_ns, k1, 1, octet_length(p_name)); RETURN;
  END IF;
  st := 'ok';
END $$;

CREATE OR REPLACE FUNCTION {s}.vfs_create(p_ns text, p_path text, p_parent text, p_name text, p_now double precision,
  p_max_files bigint, p_max_path integer, OUT st text, OUT k1 text, OUT k2 text, OUT n bigint)
LANGUAGE sql AS $$
  SELECT * FROM {s}.vfs_create(p_ns, p_path, p_parent, p_name, p_now, NULL::bigint, p_max_files, p_max_path)
$$;

-- k1 = source kind, k2 = target kind, k3 = target parent kind; n = a path length over p_max_path.
CREATE FUNCTION {s}.vfs_rename(p_ns text, p_from text, p_to text, p_to_parent text, p_to_name text,
  p_max_bytes bigint, p_max_path integer, OUT st text, OUT k1 text, OUT k2 text, OUT k3 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  v_target_ino bigint;
  v_target_bytes bigint := 0;
  v_growth bigint;
BEGIN
  IF p_from = '/' OR p_to = '/' THEN st := 'check'; RETURN; END IF;
  SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_from;
  IF NOT FOUND THEN st := 'check'; RETURN; END IF;
  IF p_from = p_to THEN st := 'ok'; RETURN; END IF;
  IF k1 = 'directory' THEN
    -- Nothing may be created inside the subtree while it moves.
    PERFORM pg_advisory_xact_lock(1986425601, {s}.vfs_lock_key(p_ns));
  ELSE
    PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
  END IF;
  SELECT e.kind, e.parent, e.name INTO v FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_from FOR UPDATE;
  IF NOT FOUND THEN k1 := NULL; st := 'check'; RETURN; END IF;
  IF v.kind <> k1 THEN
    -- Replaced by another kind between the look and the lock: start again.
    RAISE EXCEPTION 'entry changed kind during rename' USING ERRCODE = 'serialization_failure';
  END IF;
  SELECT e.kind, e.ino, e.size + octet_length(e.name) INTO k2, v_target_ino, v_target_bytes FROM {s}.vfs_entries e
  WHERE e.ns = p_ns AND e.path = p_to FOR UPDATE;
  IF k2 IS NULL AND p_max_path IS NOT NULL THEN
    IF octet_length(p_to) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_to); RETURN; END IF;
    IF k1 = 'directory' AND octet_length(p_to) > octet_length(p_from) THEN
      SELECT max(octet_length(e.path)) - octet_length(p_from) + octet_length(p_to) INTO n FROM {s}.vfs_entries e
      WHERE e.ns = p_ns AND e.path >= (p_from || '/') COLLATE "C" AND e.path < (p_from || '0') COLLATE "C";
      IF n > p_max_path THEN st := 'name-too-long'; RETURN; END IF;
      n := NULL;
    END IF;
  END IF;
  IF k1 = 'directory' AND left(p_to, length(p_from) + 1) = p_from || '/' THEN
    k2 := NULL; st := 'check'; RETURN;
  END IF;
  SELECT e.kind INTO k3 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_to_parent;
  IF k3 IS DISTINCT FROM 'directory' THEN k2 := NULL; st := 'check'; RETURN; END IF;
  IF k2 IS NOT NULL THEN
    IF k1 <> 'file' OR k2 <> 'file' THEN st := 'check'; RETURN; END IF;
    DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v_target_ino;
    DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_to;
  END IF;
  IF k1 = 'file' THEN
    UPDATE {s}.vfs_entries SET path = p_to, parent = p_to_parent, name = p_to_name
    WHERE ns = p_ns AND path = p_from;
  ELSE
    UPDATE {s}.vfs_entries SET
      path = p_to || substring(path FROM length(p_from) + 1),
      parent = CASE WHEN path = p_from THEN p_to_parent ELSE p_to || substring(parent FROM length(p_from) + 1) END,
      name = CASE WHEN path = p_from THEN p_to_name ELSE name END
    WHERE ns = p_ns AND (path = p_from
      OR (path >= (p_from || '/') COLLATE "C" AND path < (p_from || '0') COLLATE "C"));
  END IF;
  -- Only the entry's own name changes; a replaced target frees its name and size.
  v_growth := octet_length(p_to_name) - octet_length(v.name) - coalesce(v_target_bytes, 0);
  IF v_growth <> 0 OR v_target_ino IS NOT NULL THEN
    -- The usage row after the move: it is the last lock taken.
    k1 := {s}.vfs_account(p_ns, CASE WHEN v_target_ino IS NULL THEN 0 ELSE -1 END, v_growth, NULL, p_max_bytes);
    IF k1 IS NOT NULL THEN
      -- Refused, so it grew: no target was replaced. Move the entry (and its subtree) back.
      UPDATE {s}.vfs_entries SET
        path = p_from || substring(path FROM length(p_to) + 1),
        parent = CASE WHEN path = p_to THEN v.parent ELSE p_from || substring(parent FROM length(p_to) + 1) END,
        name = CASE WHEN path = p_to THEN v.name ELSE name END
      WHERE ns = p_ns AND (path = p_to
        OR (path >= (p_to || '/') COLLATE "C" AND path < (p_to || '0') COLLATE "C"));
      st := 'quota'; k2 := NULL; k3 := NULL; n := {s}.vfs_would_hold(p_ns, k1, 0, v_growth); RETURN;
    END IF;
  END IF;
  st := 'ok';
END $$;

CREATE OR REPLACE FUNCTION {s}.vfs_rename(p_ns text, p_from text, p_to text, p_to_parent text, p_to_name text,
  p_max_path integer, OUT st text, OUT k1 text, OUT k2 text, OUT k3 text, OUT n bigint)
LANGUAGE sql AS $$
  SELECT * FROM {s}.vfs_rename(p_ns, p_from, p_to, p_to_parent, p_to_name, NULL::bigint, p_max_path)
$$;
`;

// Symbolic links (issue #22): an entry of kind 'symlink' holds its target in the new column
// vfs_entries.target (NULL for every other kind) and its target's UTF-8 length as its size, so the
// usage row counts it as a file of that size plus its name, with no change to vfs_account. The new
// function vfs_symlink creates one. The other functions already refuse what is neither a file nor
// a directory with a 'check' status carrying its kind, and core's checks make the contract's error
// of 'symlink', except where a link must act as a file or is new: vfs_write (which took anything
// but a directory for a file another creator had just made, and looped), vfs_delete (a link is
// deleted) and vfs_rename (a link moves and replaces as a file does). Those three are replaced with
// their signatures unchanged, and a file's way through them is the same. No entry is a link yet,
// so the usage rows stay as they are; the CHECK on kind becomes one that also ties target to kind.
const V5 = `
ALTER TABLE {s}.vfs_entries
  ADD COLUMN target text,
  DROP CONSTRAINT vfs_entries_kind_check,
  ADD CONSTRAINT vfs_entries_kind_check
    CHECK (kind IN ('file', 'directory') AND target IS NULL OR kind = 'symlink' AND target IS NOT NULL);

-- The checks and limits follow vfs_create (checkSymlink is checkCreate's rule): maxFiles counts the
-- link, maxBytes its name and its target.
CREATE FUNCTION {s}.vfs_symlink(p_ns text, p_path text, p_parent text, p_name text, p_target text,
  p_now double precision, p_max_bytes bigint, p_max_files bigint, p_max_path integer,
  OUT st text, OUT k1 text, OUT k2 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_bytes bigint := octet_length(p_name) + octet_length(p_target);
BEGIN
  IF p_path = '/' THEN st := 'check'; k1 := 'directory'; RETURN; END IF;
  PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
  SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path;
  IF FOUND THEN st := 'check'; RETURN; END IF;
  IF octet_length(p_path) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_path); RETURN; END IF;
  SELECT e.kind INTO k2 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent;
  IF k2 IS DISTINCT FROM 'directory' THEN st := 'check'; RETURN; END IF;
  INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, target, created, modified, accessed)
  VALUES (p_ns, p_path, p_parent, p_name, 'symlink', nextval('{s}.vfs_ino'), octet_length(p_target), p_target,
    p_now, p_now, p_now)
  ON CONFLICT (ns, path) DO NOTHING;
  IF NOT FOUND THEN
    -- Another creator committed first (the insert waited for it), as in vfs_create.
    st := 'check';
    k1 := coalesce((SELECT e.kind FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path), 'symlink');
    RETURN;
  END IF;
  -- The usage row after the insert: it is the last lock taken.
  k1 := {s}.vfs_account(p_ns, 1, v_bytes, p_max_files, p_max_bytes);
  IF k1 IS NOT NULL THEN
    DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path;
    st := 'quota'; n := {s}.vfs_would_hold(p_ns, k1, 1, v_bytes); RETURN;
  END IF;
  st := 'ok';
END $$;

CREATE OR REPLACE FUNCTION {s}.vfs_write(p_ns text, p_path text, p_parent text, p_name text, p_mode integer,
  p_off bigint, p_data bytea, p_now double precision, p_cs integer,
  p_max_bytes bigint, p_max_files bigint, p_max_file_size bigint, p_max_path integer,
  OUT st text, OUT k1 text, OUT k2 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  v_limited boolean := p_max_bytes IS NOT NULL OR p_max_files IS NOT NULL;
  v_creating boolean := false;
  v_counted boolean := false;
  v_ino bigint;
  v_len bigint := length(p_data);
  v_name bigint := octet_length(p_name);
  v_off bigint := p_off;
  v_old bigint := 0;
  v_new bigint;
  v_limit text;
BEGIN
  IF p_mode = 0 AND NOT v_limited AND p_max_file_size IS NULL AND NOT octet_length(p_path) > p_max_path IS TRUE THEN
    -- A write usually creates: try to insert the entry and its chunks in one statement, and take the
    -- general way below when something is there already or the parent is not a directory.
    PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
    WITH ins AS (
      INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
      SELECT p_ns, p_path, p_parent, p_name, 'file', nextval('{s}.vfs_ino'), v_len, p_now, p_now, p_now
      WHERE EXISTS (SELECT 1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent AND e.kind = 'directory')
      ON CONFLICT (ns, path) DO NOTHING
      RETURNING ino
    ), chunks AS (
      INSERT INTO {s}.vfs_chunks (ns, ino, idx, data)
      SELECT p_ns, ins.ino, i, substring(p_data FROM (i * p_cs + 1)::integer FOR p_cs)
      FROM ins, generate_series(0, (v_len - 1) / p_cs) AS i
    )
    SELECT ino INTO v_ino FROM ins;
    IF FOUND THEN
      PERFORM {s}.vfs_account(p_ns, 1, v_len + v_name, NULL, NULL);
      st := 'ok'; n := 0; RETURN;
    END IF;
  END IF;
  LOOP
    -- The row lock serializes the writers of the file: concurrent appends each get their own offset.
    SELECT e.ino, e.size INTO v FROM {s}.vfs_entries e
    WHERE e.ns = p_ns AND e.path = p_path AND e.kind = 'file' FOR NO KEY UPDATE;
    IF FOUND THEN
      v_ino := v.ino;
      v_old := v.size;
      v_off := CASE WHEN p_mode = 2 THEN v.size ELSE p_off END;
      v_new := CASE WHEN p_mode = 0 THEN v_len ELSE greatest(v.size, v_off + v_len) END;
      IF p_max_file_size IS NOT NULL AND v_new > v_old AND v_new > p_max_file_size THEN
        st := 'quota'; k1 := 'maxFileSize'; n := v_new; RETURN;
      END IF;
      IF v_limited AND v_new > v_old THEN
        v_limit := {s}.vfs_account(p_ns, 0, v_new - v_old, NULL, p_max_bytes);
        IF v_limit IS NOT NULL THEN
          st := 'quota'; k1 := v_limit; n := {s}.vfs_would_hold(p_ns, v_limit, 0, v_new - v_old); RETURN;
        END IF;
        v_counted := true;
      END IF;
      UPDATE {s}.vfs_entries SET size = v_new, modified = p_now, accessed = p_now
      WHERE ns = p_ns AND path = p_path;
      EXIT;
    END IF;
    SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path;
    -- A directory or a link is no file to write: the caller's check says which error.
    IF k1 <> 'file' THEN st := 'check'; RETURN; END IF;
    IF k1 = 'file' THEN k1 := NULL; CONTINUE; END IF;
    IF octet_length(p_path) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_path); RETURN; END IF;
    -- Creations share the tree lock; rmdir and directory renames take it exclusively.
    PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
    SELECT e.kind INTO k2 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent;
    IF k2 IS DISTINCT FROM 'directory' THEN st := 'check'; RETURN; END IF;
    k2 := NULL;
    v_off := CASE WHEN p_mode = 2 THEN 0 ELSE p_off END;
    v_new := v_off + v_len;
    IF p_max_file_size IS NOT NULL AND v_new > p_max_file_size THEN
      st := 'quota'; k1 := 'maxFileSize'; n := v_new; RETURN;
    END IF;
    INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
    VALUES (p_ns, p_path, p_parent, p_name, 'file', nextval('{s}.vfs_ino'), v_new, p_now, p_now, p_now)
    ON CONFLICT (ns, path) DO NOTHING
    RETURNING ino INTO v_ino;
    IF FOUND THEN
      v_creating := true;
      IF v_limited THEN
        v_limit := {s}.vfs_account(p_ns, 1, v_new + v_name, p_max_files, p_max_bytes);
        IF v_limit IS NOT NULL THEN
          DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path;
          st := 'quota'; k1 := v_limit; n := {s}.vfs_would_hold(p_ns, v_limit, 1, v_new + v_name); RETURN;
        END IF;
        v_counted := true;
      END IF;
      EXIT;
    END IF;
    -- Lost a race with another creator: look again (its row is committed now).
  END LOOP;

  IF v_len > 0 THEN
    -- The chunks the data covers. A partly covered chunk is merged with what is stored (read under
    -- the entry's row lock, which every writer of this file holds), padded with zeros if shorter.
    INSERT INTO {s}.vfs_chunks AS c (ns, ino, idx, data)
    SELECT p_ns, v_ino, g.i,
      CASE
        WHEN g.s = 0 AND g.e = p_cs OR p_mode = 0 OR v_creating OR old.data IS NULL THEN
          CASE WHEN g.s = 0 THEN ''::bytea ELSE decode(repeat('00', g.s), 'hex') END || g.piece
        WHEN length(old.data) = g.s THEN old.data || g.piece
        WHEN length(old.data) > g.s THEN overlay(old.data PLACING g.piece FROM g.s + 1)
        ELSE old.data || decode(repeat('00', g.s - length(old.data)), 'hex') || g.piece
      END
    FROM (
      SELECT i, s, e, substring(p_data FROM (i * p_cs + s - v_off + 1)::integer FOR e - s) AS piece
      FROM generate_series(v_off / p_cs, (v_off + v_len - 1) / p_cs) AS i,
        LATERAL (SELECT greatest(v_off - i * p_cs, 0)::integer AS s,
                        least(v_off + v_len - i * p_cs, p_cs)::integer AS e) AS b
    ) AS g
    LEFT JOIN LATERAL (
      SELECT o.data FROM {s}.vfs_chunks o
      WHERE p_mode <> 0 AND NOT v_creating AND NOT (g.s = 0 AND g.e = p_cs)
        AND o.ns = p_ns AND o.ino = v_ino AND o.idx = g.i
    ) AS old ON true
    ON CONFLICT (ns, ino, idx) DO UPDATE SET data = excluded.data;
  END IF;
  IF p_mode = 0 AND NOT v_creating THEN
    DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v_ino AND idx >= (v_len + p_cs - 1) / p_cs;
  END IF;
  IF NOT v_counted AND (v_creating OR v_new <> v_old) THEN
    IF v_creating THEN
      PERFORM {s}.vfs_account(p_ns, 1, v_new + v_name, NULL, NULL);
    ELSE
      PERFORM {s}.vfs_account(p_ns, 0, v_new - v_old, NULL, NULL);
    END IF;
  END IF;
  st := 'ok'; n := v_off;
END $$;

CREATE OR REPLACE FUNCTION {s}.vfs_delete(p_ns text, p_path text, OUT st text, OUT k1 text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v_ino bigint;
  v_bytes bigint;
BEGIN
  LOOP
    DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path AND kind <> 'directory'
    RETURNING ino, size + octet_length(name) INTO v_ino, v_bytes;
    EXIT WHEN FOUND;
    k1 := (SELECT e.kind FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path);
    -- A file or link renamed onto the path while the DELETE waited for the row it replaced: delete
    -- that one.
    CONTINUE WHEN k1 <> 'directory';
    st := 'check';
    RETURN;
  END LOOP;
  k1 := NULL;
  DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v_ino;
  PERFORM {s}.vfs_account(p_ns, -1, -v_bytes, NULL, NULL);
  st := 'ok';
END $$;

CREATE OR REPLACE FUNCTION {s}.vfs_rename(p_ns text, p_from text, p_to text, p_to_parent text, p_to_name text,
  p_max_bytes bigint, p_max_path integer, OUT st text, OUT k1 text, OUT k2 text, OUT k3 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  v_target_ino bigint;
  v_target_bytes bigint := 0;
  v_growth bigint;
BEGIN
  IF p_from = '/' OR p_to = '/' THEN st := 'check'; RETURN; END IF;
  SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_from;
  IF NOT FOUND THEN st := 'check'; RETURN; END IF;
  IF p_from = p_to THEN st := 'ok'; RETURN; END IF;
  IF k1 = 'directory' THEN
    -- Nothing may be created inside the subtree while it moves.
    PERFORM pg_advisory_xact_lock(1986425601, {s}.vfs_lock_key(p_ns));
  ELSE
    PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
  END IF;
  SELECT e.kind, e.parent, e.name INTO v FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_from FOR UPDATE;
  IF NOT FOUND THEN k1 := NULL; st := 'check'; RETURN; END IF;
  IF v.kind <> k1 THEN
    -- Replaced by another kind between the look and the lock: start again.
    RAISE EXCEPTION 'entry changed kind during rename' USING ERRCODE = 'serialization_failure';
  END IF;
  SELECT e.kind, e.ino, e.size + octet_length(e.name) INTO k2, v_target_ino, v_target_bytes FROM {s}.vfs_entries e
  WHERE e.ns = p_ns AND e.path = p_to FOR UPDATE;
  IF k2 IS NULL AND p_max_path IS NOT NULL THEN
    IF octet_length(p_to) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_to); RETURN; END IF;
    IF k1 = 'directory' AND octet_length(p_to) > octet_length(p_from) THEN
      SELECT max(octet_length(e.path)) - octet_length(p_from) + octet_length(p_to) INTO n FROM {s}.vfs_entries e
      WHERE e.ns = p_ns AND e.path >= (p_from || '/') COLLATE "C" AND e.path < (p_from || '0') COLLATE "C";
      IF n > p_max_path THEN st := 'name-too-long'; RETURN; END IF;
      n := NULL;
    END IF;
  END IF;
  IF k1 = 'directory' AND left(p_to, length(p_from) + 1) = p_from || '/' THEN
    k2 := NULL; st := 'check'; RETURN;
  END IF;
  SELECT e.kind INTO k3 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_to_parent;
  IF k3 IS DISTINCT FROM 'directory' THEN k2 := NULL; st := 'check'; RETURN; END IF;
  IF k2 IS NOT NULL THEN
    IF k1 = 'directory' OR k2 = 'directory' THEN st := 'check'; RETURN; END IF;
    DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v_target_ino;
    DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_to;
  END IF;
  IF k1 <> 'directory' THEN
    UPDATE {s}.vfs_entries SET path = p_to, parent = p_to_parent, name = p_to_name
    WHERE ns = p_ns AND path = p_from;
  ELSE
    UPDATE {s}.vfs_entries SET
      path = p_to || substring(path FROM length(p_from) + 1),
      parent = CASE WHEN path = p_from THEN p_to_parent ELSE p_to || substring(parent FROM length(p_from) + 1) END,
      name = CASE WHEN path = p_from THEN p_to_name ELSE name END
    WHERE ns = p_ns AND (path = p_from
      OR (path >= (p_from || '/') COLLATE "C" AND path < (p_from || '0') COLLATE "C"));
  END IF;
  -- Only the entry's own name changes; a replaced target frees its name and size.
  v_growth := octet_length(p_to_name) - octet_length(v.name) - coalesce(v_target_bytes, 0);
  IF v_growth <> 0 OR v_target_ino IS NOT NULL THEN
    -- The usage row after the move: it is the last lock taken.
    k1 := {s}.vfs_account(p_ns, CASE WHEN v_target_ino IS NULL THEN 0 ELSE -1 END, v_growth, NULL, p_max_bytes);
    IF k1 IS NOT NULL THEN
      -- Refused, so it grew: no target was replaced. Move the entry (and its subtree) back.
      UPDATE {s}.vfs_entries SET
        path = p_from || substring(path FROM length(p_to) + 1),
        parent = CASE WHEN path = p_to THEN v.parent ELSE p_from || substring(parent FROM length(p_to) + 1) END,
        name = CASE WHEN path = p_to THEN v.name ELSE name END
      WHERE ns = p_ns AND (path = p_to
        OR (path >= (p_to || '/') COLLATE "C" AND path < (p_to || '0') COLLATE "C"));
      st := 'quota'; k2 := NULL; k3 := NULL; n := {s}.vfs_would_hold(p_ns, k1, 0, v_growth); RETURN;
    END IF;
  END IF;
  st := 'ok';
END $$;
`;

/**
 * Times set in nanoseconds (issue #22): each of `modified` and `accessed` gets a nullable bigint
 * companion holding the exact nanoseconds `setTimes` was given (a signed 64-bit count). Only
 * `setTimes`, a plain UPDATE, writes them; the functions keep writing the milliseconds alone, so none
 * changes, and a companion that no longer rounds to its milliseconds is ignored on read (vfs-core's
 * `exactNs`): a client of version 5 sets times as before and its times read back as it set them.
 * Adding nullable columns without a default rewrites no row.
 */
const V6 = `
ALTER TABLE {s}.vfs_entries ADD COLUMN modified_ns bigint, ADD COLUMN accessed_ns bigint;
`;

// Hard links (issue #22): a file (or a link) may have several names. Each name is a row of
// vfs_entries with the file's ino, so its chunks (keyed by ino) are shared, and a copy of its kind,
// size, target and times; the new column nlink holds, on each of those rows, how many there are.
// Adding a column with a constant default rewrites no row, and a NOT VALID check reads none; the
// partial index finds the names of a linked file (nlink > 1) and stays empty until links are made.
// Every function that changes a file through a path (vfs_write, vfs_set_size, vfs_delete, vfs_rename,
// and the new vfs_set_times, which replaces the driver's plain UPDATE) locks it with vfs_lock_names
// and, when it has several names, changes every one of them; their signatures are unchanged. The
// usage row counts a file once (files, size) and every name's bytes; vfs_link adds a name's bytes.
const V7 = `
ALTER TABLE {s}.vfs_entries
  ADD COLUMN nlink integer NOT NULL DEFAULT 1,
  ADD CONSTRAINT vfs_entries_nlink_check CHECK (nlink >= 1) NOT VALID;

-- The names of linked files. The path is in the key so that they come out of the index in the
-- order they are locked in: with (ns, ino) alone, a generic plan made on an empty table prefers the
-- primary key, which gives that order, and filters the whole namespace for the ino.
CREATE INDEX vfs_entries_links ON {s}.vfs_entries (ns, ino, path) WHERE nlink > 1;

-- Locks the file or link at p_path for a change through it: its row and, when it has several names,
-- all of them, in path order. Every change of a linked file takes all its names' locks in that one
-- order, so two changes through two names wait for each other instead of deadlocking. The names
-- are found (with the partial index) before they are locked; if they changed in between (a name
-- added or removed), the transaction is retried as a serialization failure. A directory is returned
-- unlocked (nothing changes one through this); nothing at the path gives NULLs.
CREATE FUNCTION {s}.vfs_lock_names(p_ns text, p_path text, OUT kind text, OUT ino bigint, OUT size bigint,
  OUT nlink integer, OUT created double precision)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  v_locked bigint;
BEGIN
  LOOP
    SELECT e.kind, e.ino, e.nlink INTO v FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path;
    IF NOT FOUND THEN RETURN; END IF;
    IF v.kind = 'directory' THEN kind := v.kind; ino := v.ino; RETURN; END IF;
    v_locked := 0;
    IF v.nlink > 1 THEN
      PERFORM 1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.ino = v.ino AND e.nlink > 1
      ORDER BY e.path FOR NO KEY UPDATE;
      GET DIAGNOSTICS v_locked = ROW_COUNT;
    END IF;
    SELECT e.kind, e.ino, e.size, e.nlink, e.created INTO kind, ino, size, nlink, created
    FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_path FOR NO KEY UPDATE;
    IF FOUND THEN
      IF nlink > 1 AND (ino <> v.ino OR nlink <> v_locked) THEN
        RAISE EXCEPTION 'the names of a file changed while they were locked' USING ERRCODE = 'serialization_failure';
      END IF;
      RETURN;
    END IF;
    -- Deleted or renamed away while this waited for its lock, maybe replaced: look again.
  END LOOP;
END $$;

-- k1 = source kind, k2 = target kind, k3 = target parent kind (checkLink decides the error);
-- n = a path length over p_max_path. The new name copies the row of the source, which every
-- change of the file locks first, so it copies the latest size and times.
CREATE FUNCTION {s}.vfs_link(p_ns text, p_from text, p_to text, p_to_parent text, p_to_name text,
  p_max_bytes bigint, p_max_path integer, OUT st text, OUT k1 text, OUT k2 text, OUT k3 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
BEGIN
  -- Creations share the tree lock; rmdir and directory renames take it exclusively.
  PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
  SELECT * INTO v FROM {s}.vfs_lock_names(p_ns, p_from);
  k1 := v.kind;
  SELECT e.kind INTO k2 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_to;
  SELECT e.kind INTO k3 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_to_parent;
  IF k1 IS NULL OR k1 = 'directory' OR k2 IS NOT NULL OR p_to = '/' OR k3 IS DISTINCT FROM 'directory' THEN
    st := 'check'; RETURN;
  END IF;
  IF octet_length(p_to) > p_max_path THEN
    st := 'name-too-long'; k1 := NULL; k3 := NULL; n := octet_length(p_to); RETURN;
  END IF;
  INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, target, created, modified, accessed,
    modified_ns, accessed_ns, nlink)
  SELECT e.ns, p_to, p_to_parent, p_to_name, e.kind, e.ino, e.size, e.target, e.created, e.modified, e.accessed,
    e.modified_ns, e.accessed_ns, v.nlink + 1
  FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_from
  ON CONFLICT (ns, path) DO NOTHING;
  IF NOT FOUND THEN
    -- Another creator committed first (the insert waited for it), as in vfs_create.
    st := 'check';
    k2 := coalesce((SELECT e.kind FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_to), 'file');
    RETURN;
  END IF;
  IF v.nlink > 1 THEN
    UPDATE {s}.vfs_entries SET nlink = v.nlink + 1
    WHERE ns = p_ns AND ino = v.ino AND nlink > 1 AND path <> p_to;
  ELSE
    UPDATE {s}.vfs_entries SET nlink = 2 WHERE ns = p_ns AND path = p_from;
  END IF;
  -- The usage row after the insert: it is the last lock taken. The file is counted already; only
  -- the new name adds to it.
  k1 := {s}.vfs_account(p_ns, 0, octet_length(p_to_name), NULL, p_max_bytes);
  IF k1 IS NOT NULL THEN
    DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_to;
    IF v.nlink > 1 THEN
      UPDATE {s}.vfs_entries SET nlink = v.nlink WHERE ns = p_ns AND ino = v.ino AND nlink > 1;
    ELSE
      UPDATE {s}.vfs_entries SET nlink = 1 WHERE ns = p_ns AND path = p_from;
    END IF;
    st := 'quota'; k2 := NULL; k3 := NULL; n := {s}.vfs_would_hold(p_ns, k1, 0, octet_length(p_to_name)); RETURN;
  END IF;
  st := 'ok';
END $$;

-- Returns the kind of what is at p_path (NULL: nothing, and nothing changed). A time given
-- (p_accessed, p_modified not NULL) sets its milliseconds and its nanoseconds (NULL for a number);
-- one not given keeps both.
CREATE FUNCTION {s}.vfs_set_times(p_ns text, p_path text, p_accessed double precision, p_accessed_ns bigint,
  p_modified double precision, p_modified_ns bigint) RETURNS text
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  v_kind text;
BEGIN
  SELECT * INTO v FROM {s}.vfs_lock_names(p_ns, p_path);
  IF v.nlink > 1 THEN
    UPDATE {s}.vfs_entries SET accessed = coalesce(p_accessed, accessed),
      accessed_ns = CASE WHEN p_accessed IS NULL THEN accessed_ns ELSE p_accessed_ns END,
      modified = coalesce(p_modified, modified),
      modified_ns = CASE WHEN p_modified IS NULL THEN modified_ns ELSE p_modified_ns END
    WHERE ns = p_ns AND ino = v.ino AND nlink > 1;
    RETURN v.kind;
  END IF;
  UPDATE {s}.vfs_entries SET accessed = coalesce(p_accessed, accessed),
    accessed_ns = CASE WHEN p_accessed IS NULL THEN accessed_ns ELSE p_accessed_ns END,
    modified = coalesce(p_modified, modified),
    modified_ns = CASE WHEN p_modified IS NULL THEN modified_ns ELSE p_modified_ns END
  WHERE ns = p_ns AND path = p_path
  RETURNING kind INTO v_kind;
  RETURN v_kind;
END $$;

CREATE OR REPLACE FUNCTION {s}.vfs_write(p_ns text, p_path text, p_parent text, p_name text, p_mode integer,
  p_off bigint, p_data bytea, p_now double precision, p_cs integer,
  p_max_bytes bigint, p_max_files bigint, p_max_file_size bigint, p_max_path integer,
  OUT st text, OUT k1 text, OUT k2 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  v_limited boolean := p_max_bytes IS NOT NULL OR p_max_files IS NOT NULL;
  v_creating boolean := false;
  v_counted boolean := false;
  v_ino bigint;
  v_len bigint := length(p_data);
  v_name bigint := octet_length(p_name);
  v_off bigint := p_off;
  v_old bigint := 0;
  v_new bigint;
  v_limit text;
BEGIN
  IF p_mode = 0 AND NOT v_limited AND p_max_file_size IS NULL AND NOT octet_length(p_path) > p_max_path IS TRUE THEN
    -- A write usually creates: try to insert the entry and its chunks in one statement, and take the
    -- general way below when something is there already or the parent is not a directory.
    PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
    WITH ins AS (
      INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
      SELECT p_ns, p_path, p_parent, p_name, 'file', nextval('{s}.vfs_ino'), v_len, p_now, p_now, p_now
      WHERE EXISTS (SELECT 1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent AND e.kind = 'directory')
      ON CONFLICT (ns, path) DO NOTHING
      RETURNING ino
    ), chunks AS (
      INSERT INTO {s}.vfs_chunks (ns, ino, idx, data)
      SELECT p_ns, ins.ino, i, substring(p_data FROM (i * p_cs + 1)::integer FOR p_cs)
      FROM ins, generate_series(0, (v_len - 1) / p_cs) AS i
    )
    SELECT ino INTO v_ino FROM ins;
    IF FOUND THEN
      PERFORM {s}.vfs_account(p_ns, 1, v_len + v_name, NULL, NULL);
      st := 'ok'; n := 0; RETURN;
    END IF;
  END IF;
  LOOP
    -- The row locks serialize the writers of the file, whichever of its names they use: concurrent
    -- appends each get their own offset.
    SELECT * INTO v FROM {s}.vfs_lock_names(p_ns, p_path);
    IF v.kind = 'file' THEN
      v_ino := v.ino;
      v_old := v.size;
      v_off := CASE WHEN p_mode = 2 THEN v.size ELSE p_off END;
      v_new := CASE WHEN p_mode = 0 THEN v_len ELSE greatest(v.size, v_off + v_len) END;
      IF p_max_file_size IS NOT NULL AND v_new > v_old AND v_new > p_max_file_size THEN
        st := 'quota'; k1 := 'maxFileSize'; n := v_new; RETURN;
      END IF;
      IF v_limited AND v_new > v_old THEN
        v_limit := {s}.vfs_account(p_ns, 0, v_new - v_old, NULL, p_max_bytes);
        IF v_limit IS NOT NULL THEN
          st := 'quota'; k1 := v_limit; n := {s}.vfs_would_hold(p_ns, v_limit, 0, v_new - v_old); RETURN;
        END IF;
        v_counted := true;
      END IF;
      IF v.nlink > 1 THEN
        UPDATE {s}.vfs_entries SET size = v_new, modified = p_now, accessed = p_now
        WHERE ns = p_ns AND ino = v_ino AND nlink > 1;
      ELSE
        UPDATE {s}.vfs_entries SET size = v_new, modified = p_now, accessed = p_now
        WHERE ns = p_ns AND path = p_path;
      END IF;
      EXIT;
    END IF;
    -- A directory or a link is no file to write: the caller's check says which error.
    IF v.kind IS NOT NULL THEN st := 'check'; k1 := v.kind; RETURN; END IF;
    IF octet_length(p_path) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_path); RETURN; END IF;
    -- Creations share the tree lock; rmdir and directory renames take it exclusively.
    PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
    SELECT e.kind INTO k2 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_parent;
    IF k2 IS DISTINCT FROM 'directory' THEN st := 'check'; RETURN; END IF;
    k2 := NULL;
    v_off := CASE WHEN p_mode = 2 THEN 0 ELSE p_off END;
    v_new := v_off + v_len;
    IF p_max_file_size IS NOT NULL AND v_new > p_max_file_size THEN
      st := 'quota'; k1 := 'maxFileSize'; n := v_new; RETURN;
    END IF;
    INSERT INTO {s}.vfs_entries (ns, path, parent, name, kind, ino, size, created, modified, accessed)
    VALUES (p_ns, p_path, p_parent, p_name, 'file', nextval('{s}.vfs_ino'), v_new, p_now, p_now, p_now)
    ON CONFLICT (ns, path) DO NOTHING
    RETURNING ino INTO v_ino;
    IF FOUND THEN
      v_creating := true;
      IF v_limited THEN
        v_limit := {s}.vfs_account(p_ns, 1, v_new + v_name, p_max_files, p_max_bytes);
        IF v_limit IS NOT NULL THEN
          DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path;
          st := 'quota'; k1 := v_limit; n := {s}.vfs_would_hold(p_ns, v_limit, 1, v_new + v_name); RETURN;
        END IF;
        v_counted := true;
      END IF;
      EXIT;
    END IF;
    -- Lost a race with another creator: look again (its row is committed now).
  END LOOP;

  IF v_len > 0 THEN
    -- The chunks the data covers. A partly covered chunk is merged with what is stored (read under
    -- the entry's row lock, which every writer of this file holds), padded with zeros if shorter.
    INSERT INTO {s}.vfs_chunks AS c (ns, ino, idx, data)
    SELECT p_ns, v_ino, g.i,
      CASE
        WHEN g.s = 0 AND g.e = p_cs OR p_mode = 0 OR v_creating OR old.data IS NULL THEN
          CASE WHEN g.s = 0 THEN ''::bytea ELSE decode(repeat('00', g.s), 'hex') END || g.piece
        WHEN length(old.data) = g.s THEN old.data || g.piece
        WHEN length(old.data) > g.s THEN overlay(old.data PLACING g.piece FROM g.s + 1)
        ELSE old.data || decode(repeat('00', g.s - length(old.data)), 'hex') || g.piece
      END
    FROM (
      SELECT i, s, e, substring(p_data FROM (i * p_cs + s - v_off + 1)::integer FOR e - s) AS piece
      FROM generate_series(v_off / p_cs, (v_off + v_len - 1) / p_cs) AS i,
        LATERAL (SELECT greatest(v_off - i * p_cs, 0)::integer AS s,
                        least(v_off + v_len - i * p_cs, p_cs)::integer AS e) AS b
    ) AS g
    LEFT JOIN LATERAL (
      SELECT o.data FROM {s}.vfs_chunks o
      WHERE p_mode <> 0 AND NOT v_creating AND NOT (g.s = 0 AND g.e = p_cs)
        AND o.ns = p_ns AND o.ino = v_ino AND o.idx = g.i
    ) AS old ON true
    ON CONFLICT (ns, ino, idx) DO UPDATE SET data = excluded.data;
  END IF;
  IF p_mode = 0 AND NOT v_creating THEN
    DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v_ino AND idx >= (v_len + p_cs - 1) / p_cs;
  END IF;
  IF NOT v_counted AND (v_creating OR v_new <> v_old) THEN
    IF v_creating THEN
      PERFORM {s}.vfs_account(p_ns, 1, v_new + v_name, NULL, NULL);
    ELSE
      PERFORM {s}.vfs_account(p_ns, 0, v_new - v_old, NULL, NULL);
    END IF;
  END IF;
  st := 'ok'; n := v_off;
END $$;


CREATE OR REPLACE FUNCTION {s}.vfs_set_size(p_ns text, p_path text, p_size bigint, p_now double precision,
  p_cs integer, p_max_bytes bigint, p_max_file_size bigint,
  OUT st text, OUT k1 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  v_limit text;
BEGIN
  SELECT * INTO v FROM {s}.vfs_lock_names(p_ns, p_path);
  IF v.kind IS DISTINCT FROM 'file' THEN st := 'check'; k1 := v.kind; RETURN; END IF;
  IF p_max_file_size IS NOT NULL AND p_size > v.size AND p_size > p_max_file_size THEN
    st := 'quota'; k1 := 'maxFileSize'; n := p_size; RETURN;
  END IF;
  IF p_max_bytes IS NOT NULL AND p_size > v.size THEN
    v_limit := {s}.vfs_account(p_ns, 0, p_size - v.size, NULL, p_max_bytes);
    IF v_limit IS NOT NULL THEN
      st := 'quota'; k1 := v_limit; n := {s}.vfs_would_hold(p_ns, v_limit, 0, p_size - v.size); RETURN;
    END IF;
  END IF;
  IF p_size < v.size THEN
    DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v.ino AND idx >= (p_size + p_cs - 1) / p_cs;
    -- Cut the tail of the last chunk so a later extension reads zeros, not old bytes.
    UPDATE {s}.vfs_chunks SET data = substring(data FOR (p_size - idx * p_cs)::integer)
    WHERE ns = p_ns AND ino = v.ino AND idx = p_size / p_cs AND length(data) > p_size - idx * p_cs;
  END IF;
  IF v.nlink > 1 THEN
    UPDATE {s}.vfs_entries SET size = p_size, modified = p_now, accessed = p_now
    WHERE ns = p_ns AND ino = v.ino AND nlink > 1;
  ELSE
    UPDATE {s}.vfs_entries SET size = p_size, modified = p_now, accessed = p_now
    WHERE ns = p_ns AND path = p_path;
  END IF;
  IF p_size < v.size OR p_size > v.size AND p_max_bytes IS NULL THEN
    PERFORM {s}.vfs_account(p_ns, 0, p_size - v.size, NULL, NULL);
  END IF;
  st := 'ok';
END $$;

-- One name of several goes alone: the others lose one from nlink, and the file (chunks, size, its
-- count in files) stays; only the name's bytes are freed. The last name takes the file with it.
CREATE OR REPLACE FUNCTION {s}.vfs_delete(p_ns text, p_path text, OUT st text, OUT k1 text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  v_name bigint;
BEGIN
  SELECT * INTO v FROM {s}.vfs_lock_names(p_ns, p_path);
  IF v.kind IS NULL OR v.kind = 'directory' THEN k1 := v.kind; st := 'check'; RETURN; END IF;
  DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_path RETURNING octet_length(name) INTO v_name;
  IF v.nlink > 1 THEN
    UPDATE {s}.vfs_entries SET nlink = nlink - 1 WHERE ns = p_ns AND ino = v.ino AND nlink > 1;
    PERFORM {s}.vfs_account(p_ns, 0, -v_name, NULL, NULL);
  ELSE
    DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = v.ino;
    PERFORM {s}.vfs_account(p_ns, -1, -(v.size + v_name), NULL, NULL);
  END IF;
  st := 'ok';
END $$;

-- k1 = source kind, k2 = target kind, k3 = target parent kind; n = a path length over p_max_path.
-- A name moves alone (its file's other names keep theirs). A target that is another name of the
-- source's file is left as it is (POSIX); one of several names of another file goes as vfs_delete
-- takes it.
CREATE OR REPLACE FUNCTION {s}.vfs_rename(p_ns text, p_from text, p_to text, p_to_parent text, p_to_name text,
  p_max_bytes bigint, p_max_path integer, OUT st text, OUT k1 text, OUT k2 text, OUT k3 text, OUT n bigint)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  v record;
  t record;
  v_target_files bigint := 0;
  v_target_bytes bigint := 0;
  v_growth bigint;
BEGIN
  IF p_from = '/' OR p_to = '/' THEN st := 'check'; RETURN; END IF;
  SELECT e.kind INTO k1 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_from;
  IF NOT FOUND THEN st := 'check'; RETURN; END IF;
  IF p_from = p_to THEN st := 'ok'; RETURN; END IF;
  IF k1 = 'directory' THEN
    -- Nothing may be created inside the subtree while it moves.
    PERFORM pg_advisory_xact_lock(1986425601, {s}.vfs_lock_key(p_ns));
  ELSE
    PERFORM pg_advisory_xact_lock_shared(1986425601, {s}.vfs_lock_key(p_ns));
  END IF;
  SELECT e.kind, e.parent, e.name, e.ino INTO v FROM {s}.vfs_entries e
  WHERE e.ns = p_ns AND e.path = p_from FOR UPDATE;
  IF NOT FOUND THEN k1 := NULL; st := 'check'; RETURN; END IF;
  IF v.kind <> k1 THEN
    -- Replaced by another kind between the look and the lock: start again.
    RAISE EXCEPTION 'entry changed kind during rename' USING ERRCODE = 'serialization_failure';
  END IF;
  -- Another name of the same file: nothing to do. Looked at before locking the target's names,
  -- which would then be this file's, locked after one of them.
  IF k1 <> 'directory' AND v.ino = (SELECT e.ino FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_to) THEN
    st := 'ok'; RETURN;
  END IF;
  SELECT * INTO t FROM {s}.vfs_lock_names(p_ns, p_to);
  k2 := t.kind;
  IF k1 <> 'directory' AND t.ino = v.ino THEN st := 'ok'; k2 := NULL; RETURN; END IF;
  IF k2 IS NULL AND p_max_path IS NOT NULL THEN
    IF octet_length(p_to) > p_max_path THEN st := 'name-too-long'; n := octet_length(p_to); RETURN; END IF;
    IF k1 = 'directory' AND octet_length(p_to) > octet_length(p_from) THEN
      SELECT max(octet_length(e.path)) - octet_length(p_from) + octet_length(p_to) INTO n FROM {s}.vfs_entries e
      WHERE e.ns = p_ns AND e.path >= (p_from || '/') COLLATE "C" AND e.path < (p_from || '0') COLLATE "C";
      IF n > p_max_path THEN st := 'name-too-long'; RETURN; END IF;
      n := NULL;
    END IF;
  END IF;
  IF k1 = 'directory' AND left(p_to, length(p_from) + 1) = p_from || '/' THEN
    k2 := NULL; st := 'check'; RETURN;
  END IF;
  SELECT e.kind INTO k3 FROM {s}.vfs_entries e WHERE e.ns = p_ns AND e.path = p_to_parent;
  IF k3 IS DISTINCT FROM 'directory' THEN k2 := NULL; st := 'check'; RETURN; END IF;
  IF k2 IS NOT NULL THEN
    IF k1 = 'directory' OR k2 = 'directory' THEN st := 'check'; RETURN; END IF;
    DELETE FROM {s}.vfs_entries WHERE ns = p_ns AND path = p_to;
    IF t.nlink > 1 THEN
      UPDATE {s}.vfs_entries SET nlink = nlink - 1 WHERE ns = p_ns AND ino = t.ino AND nlink > 1;
      v_target_bytes := octet_length(p_to_name);
    ELSE
      DELETE FROM {s}.vfs_chunks WHERE ns = p_ns AND ino = t.ino;
      v_target_files := 1;
      v_target_bytes := t.size + octet_length(p_to_name);
    END IF;
  END IF;
  IF k1 <> 'directory' THEN
    UPDATE {s}.vfs_entries SET path = p_to, parent = p_to_parent, name = p_to_name
    WHERE ns = p_ns AND path = p_from;
  ELSE
    UPDATE {s}.vfs_entries SET
      path = p_to || substring(path FROM length(p_from) + 1),
      parent = CASE WHEN path = p_from THEN p_to_parent ELSE p_to || substring(parent FROM length(p_from) + 1) END,
      name = CASE WHEN path = p_from THEN p_to_name ELSE name END
    WHERE ns = p_ns AND (path = p_from
      OR (path >= (p_from || '/') COLLATE "C" AND path < (p_from || '0') COLLATE "C"));
  END IF;
  -- Only the entry's own name changes; a replaced target frees its name, and its size with its last
  -- name. So a rename that replaces something never grows.
  v_growth := octet_length(p_to_name) - octet_length(v.name) - v_target_bytes;
  IF v_growth <> 0 OR k2 IS NOT NULL THEN
    -- The usage row after the move: it is the last lock taken.
    k1 := {s}.vfs_account(p_ns, -v_target_files, v_growth, NULL, p_max_bytes);
    IF k1 IS NOT NULL THEN
      -- Refused, so it grew: no target was replaced. Move the entry (and its subtree) back.
      UPDATE {s}.vfs_entries SET
        path = p_from || substring(path FROM length(p_to) + 1),
        parent = CASE WHEN path = p_to THEN v.parent ELSE p_from || substring(parent FROM length(p_to) + 1) END,
        name = CASE WHEN path = p_to THEN v.name ELSE name END
      WHERE ns = p_ns AND (path = p_to
        OR (path >= (p_to || '/') COLLATE "C" AND path < (p_to || '0') COLLATE "C"));
      st := 'quota'; k2 := NULL; k3 := NULL; n := {s}.vfs_would_hold(p_ns, k1, 0, v_growth); RETURN;
    END IF;
  END IF;
  st := 'ok';
END $$;
`;

/** The migrations in order; version `i + 1` is `MIGRATIONS[i]`. Never edit a released one: append. */
export const MIGRATIONS: readonly string[] = [V1, V2, V3, V4, V5, V6, V7];

/** The schema version this package writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** What each of {@link MIGRATIONS} does, for reports (`MIGRATION_STEPS[v - 1]` describes version `v`). */
const MIGRATION_STEPS: readonly string[] = [
  'create the tables vfs_namespaces, vfs_entries and vfs_chunks, the sequence vfs_ino and the functions',
  'add the function vfs_create (exclusive creation of an empty file)',
  'add the usage row (files, bytes) to vfs_namespaces, count every namespace once under a table lock, and check the limits against it',
  'count names in the usage row: recompute bytes (file sizes plus the names of files and directories) of every namespace under a table lock',
  'store symbolic links: add the column vfs_entries.target and the kind symlink, add the function vfs_symlink, and let vfs_write, vfs_delete and vfs_rename treat links',
  'store times set in nanoseconds exactly: add the columns vfs_entries.modified_ns and accessed_ns',
  'store hard links: add the column vfs_entries.nlink and its index, add the functions vfs_link, vfs_set_times and vfs_lock_names, and let vfs_write, vfs_set_size, vfs_delete and vfs_rename change every name of a file',
];

/**
 * What migrating `schema` from version `from` (`0`: no version table) does, one line per step;
 * empty when it is current. `present`: whether the PostgreSQL schema itself exists.
 */
export function migrationSteps(schema: string, from: number, present: boolean): string[] {
  const steps = present ? [] : [`create the schema "${schema}"`];
  if (from === 0) steps.push('create the version table vfs_schema');
  for (let version = from + 1; version <= SCHEMA_VERSION; version++) {
    steps.push(`version ${version}: ${MIGRATION_STEPS[version - 1]}`);
  }
  return steps;
}

/** The SQL of migration `index` for a schema (a plain identifier, checked by the caller). */
export function migrationSql(index: number, schema: string): string {
  return MIGRATIONS[index]!.replaceAll('{s}', `"${schema}"`).replaceAll('{name}', schema);
}

-- The PostgreSQL schema snapshot in one catalog round trip: every object of
-- every non-system schema as (kind, qualified name, definition, view columns,
-- column position, unit). $1 names the history table, which is left out with
-- its columns, constraints, indexes, sequences, grants and comments. Objects
-- of the system catalogs have OIDs below 16384 (FirstNormalObjectId);
-- filtering on that first keeps the query cheap.
--
-- Incremental. Objects are grouped in units: a relation with its columns,
-- constraints, indexes, triggers, rules, policies, owned sequences, grants
-- and comments (its OID); a schema, an extension, a type or domain (with
-- its labels, attributes and constraints), a function, each with its grants
-- and comments (a negative number: -(k * 2^32 + OID), k = 1 schema, 2 type,
-- 3 function, 4 extension); unit 0 stands for what every unit's text may
-- name (roles, the search path, a name in two schemas, operators, classes,
-- collations, casts, default privileges). A unit's stamp is the number and
-- the newest xmin of the catalog rows its text is read from: an insert or
-- an update writes a newer xmin, a delete lowers the number, so an equal
-- stamp means the same rows. $2/$3 are the units and stamps of the snapshot
-- the caller holds; a unit is read again when its stamp differs, when an
-- object it names (pg_depend: a view's tables and functions, a column's
-- type, a foreign key's target, a default's sequence, a trigger's function,
-- a partition's parent) was read again, and every unit when unit 0 or a
-- schema differs or more than 32 units do. Rows with a NULL kind carry
-- every current unit's stamp and whether it was read again.
WITH ext AS (
  SELECT e.classid, e.objid FROM pg_depend e WHERE e.refclassid = 'pg_extension'::regclass AND e.deptype = 'e'
),
ns AS (
  SELECT n.oid, n.xmin, n.nspname::text AS nspname, n.nspowner, n.nspacl, -(4294967296 + n.oid::bigint) AS unit FROM pg_namespace n
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp\_%'
),
rels AS (
  SELECT c.oid, c.xmin, c.relkind, c.relname::text AS relname, n.nspname || '.' || c.relname AS qname, c.relnamespace,
         c.reltype, c.relowner, c.relacl, c.relpersistence, c.relrowsecurity, c.relispartition, c.relpartbound, c.reloptions,
         CASE WHEN c.relkind IN ('i', 'I') THEN ix.indrelid::bigint
              WHEN c.relkind = 'c' THEN -(8589934592 + c.reltype::bigint)
              WHEN c.relkind = 'S' THEN coalesce((SELECT d.refobjid FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_class'::regclass
                    AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i') LIMIT 1), c.oid)::bigint
              ELSE c.oid::bigint END AS unit
  FROM pg_class c JOIN ns n ON n.oid = c.relnamespace LEFT JOIN pg_index ix ON ix.indexrelid = c.oid
  WHERE c.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM ext e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid)
),
procs AS (
  SELECT p.oid, p.xmin, p.prokind, p.proowner, p.proacl, p.proname::text AS proname, p.pronamespace,
         n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS qname,
         -(12884901888 + p.oid::bigint) AS unit
  FROM pg_proc p JOIN ns n ON n.oid = p.pronamespace
  WHERE p.oid >= 16384 AND NOT EXISTS (SELECT 1 FROM ext e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid)
),
types AS (
  SELECT t.oid, t.xmin, t.typtype, t.typowner, t.typacl, t.typrelid, t.typarray, t.typbasetype, t.typtypmod, t.typnotnull,
         t.typdefault, t.typname::text AS typname, t.typnamespace, n.nspname || '.' || t.typname AS qname,
         -(8589934592 + t.oid::bigint) AS unit
  FROM pg_type t JOIN ns n ON n.oid = t.typnamespace
  LEFT JOIN pg_class c ON c.oid = t.typrelid
  WHERE t.oid >= 16384 AND t.typtype IN ('e', 'd', 'r', 'c', 'm') AND (t.typrelid = 0 OR c.relkind = 'c')
    AND NOT EXISTS (SELECT 1 FROM ext e WHERE e.classid = 'pg_type'::regclass AND e.objid = t.oid)
),
-- Rows written since the caller's snapshot: their xmin is at or after $4,
-- the first transaction id that snapshot could not see (age() compares
-- transaction ids cheaply, wraparound-aware).
fresh AS (SELECT CASE WHEN $4::text IS NULL THEN -1 ELSE age($4::text::xid) END AS age),
touched(rel) AS (
  SELECT oid FROM rels, fresh WHERE age(xmin) <= fresh.age
  UNION SELECT attrelid FROM pg_attribute, fresh WHERE attrelid >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT adrelid FROM pg_attrdef, fresh WHERE adrelid >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT conrelid FROM pg_constraint, fresh WHERE conrelid >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT indexrelid FROM pg_index, fresh WHERE indexrelid >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT tgrelid FROM pg_trigger, fresh WHERE tgrelid >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT ev_class FROM pg_rewrite, fresh WHERE ev_class >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT polrelid FROM pg_policy, fresh WHERE age(xmin) <= fresh.age
  UNION SELECT seqrelid FROM pg_sequence, fresh WHERE seqrelid >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT inhrelid FROM pg_inherits, fresh WHERE age(xmin) <= fresh.age
  UNION SELECT partrelid FROM pg_partitioned_table, fresh WHERE age(xmin) <= fresh.age
),
-- The unit of a comment, from the object it is on.
notes AS (
  SELECT d.classoid, d.objoid, d.objsubid, d.description, d.xmin, coalesce(CASE d.classoid
      WHEN 'pg_class'::regclass THEN (SELECT r.unit FROM rels r WHERE r.oid = d.objoid)
      WHEN 'pg_constraint'::regclass THEN (SELECT coalesce(r.unit, -(8589934592 + c.contypid::bigint)) FROM pg_constraint c
        LEFT JOIN rels r ON r.oid = c.conrelid WHERE c.oid = d.objoid)
      WHEN 'pg_trigger'::regclass THEN (SELECT r.unit FROM pg_trigger t JOIN rels r ON r.oid = t.tgrelid WHERE t.oid = d.objoid)
      WHEN 'pg_rewrite'::regclass THEN (SELECT r.unit FROM pg_rewrite w JOIN rels r ON r.oid = w.ev_class WHERE w.oid = d.objoid)
      WHEN 'pg_policy'::regclass THEN (SELECT r.unit FROM pg_policy p JOIN rels r ON r.oid = p.polrelid WHERE p.oid = d.objoid)
      WHEN 'pg_namespace'::regclass THEN -(4294967296 + d.objoid::bigint)
      WHEN 'pg_type'::regclass THEN -(8589934592 + d.objoid::bigint)
      WHEN 'pg_proc'::regclass THEN -(12884901888 + d.objoid::bigint)
      WHEN 'pg_extension'::regclass THEN -(17179869184 + d.objoid::bigint)
    END, 0) AS unit
  FROM (SELECT d.*, d.xmin FROM pg_description d WHERE d.objoid >= 16384
        UNION ALL SELECT d.*, d.xmin FROM pg_description d JOIN ns ON ns.oid = d.objoid WHERE d.classoid = 'pg_namespace'::regclass) d
),
-- What a unit holds: a delete writes no row, so it shows as a lower count
-- (what is added since shows in touched).
held(unit, n) AS (
  SELECT unit, count(*) FROM rels GROUP BY unit
  UNION ALL SELECT r.unit, count(*) FROM pg_constraint c JOIN rels r ON r.oid = c.conrelid WHERE c.conrelid >= 16384 GROUP BY r.unit
  UNION ALL SELECT r.unit, count(*) FROM pg_trigger t JOIN rels r ON r.oid = t.tgrelid WHERE t.tgrelid >= 16384 GROUP BY r.unit
  UNION ALL SELECT r.unit, count(*) FROM pg_rewrite w JOIN rels r ON r.oid = w.ev_class WHERE w.ev_class >= 16384 GROUP BY r.unit
  UNION ALL SELECT r.unit, count(*) FROM pg_policy p JOIN rels r ON r.oid = p.polrelid GROUP BY r.unit
  UNION ALL SELECT unit, count(*) FROM notes GROUP BY unit
  UNION ALL SELECT unit, 1 FROM ns
  UNION ALL SELECT unit, 1 FROM procs
  UNION ALL SELECT unit, 1 FROM types
  UNION ALL SELECT -(8589934592 + contypid::bigint), count(*) FROM pg_constraint WHERE contypid >= 16384 GROUP BY contypid
  UNION ALL SELECT -(17179869184 + oid::bigint), 1 FROM pg_extension
  UNION ALL SELECT -(8589934592 + enumtypid::bigint), count(*) FROM pg_enum WHERE enumtypid >= 16384 GROUP BY enumtypid
  UNION ALL SELECT -(8589934592 + rngtypid::bigint), count(*) FROM pg_range WHERE rngtypid >= 16384 GROUP BY rngtypid
  UNION ALL SELECT 0, 0
  UNION ALL SELECT 0, count(*) FROM pg_operator WHERE oid >= 16384
  UNION ALL SELECT 0, count(*) FROM pg_opclass WHERE oid >= 16384
  UNION ALL SELECT 0, count(*) FROM pg_opfamily WHERE oid >= 16384
  UNION ALL SELECT 0, count(*) FROM pg_collation WHERE oid >= 16384
  UNION ALL SELECT 0, count(*) FROM pg_cast WHERE oid >= 16384
  UNION ALL SELECT 0, count(*) FROM pg_default_acl
),
-- Unit 0 also stands for what every unit's text names: roles, the search
-- path, and a name in two schemas (or a new overload), which changes how
-- the others print.
global(stamp) AS (
  SELECT (SELECT md5(string_agg(oid || ' ' || rolname, ',' ORDER BY oid)) FROM pg_roles)
    || '|' || current_setting('search_path') || '|' || coalesce((
      SELECT string_agg(name, ',' ORDER BY name) FROM (SELECT name FROM (
        SELECT relname AS name, relnamespace AS nsp FROM rels
        UNION ALL SELECT typname, typnamespace FROM types
        UNION ALL SELECT proname, pronamespace FROM procs
      ) names GROUP BY name HAVING count(*) > 1) dup), '')
),
-- The units of the rows outside relations written since the caller's
-- snapshot (unit 0: what every unit's text may name).
touched_units(unit) AS (
  SELECT 0::bigint FROM fresh WHERE fresh.age < 0
  UNION SELECT ns.unit FROM ns, fresh WHERE age(ns.xmin) <= fresh.age
  UNION SELECT procs.unit FROM procs, fresh WHERE age(procs.xmin) <= fresh.age
  UNION SELECT types.unit FROM types, fresh WHERE age(types.xmin) <= fresh.age
  UNION SELECT -(8589934592 + contypid::bigint) FROM pg_constraint, fresh WHERE contypid >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT -(17179869184 + oid::bigint) FROM pg_extension, fresh WHERE age(xmin) <= fresh.age
  UNION SELECT -(8589934592 + enumtypid::bigint) FROM pg_enum, fresh WHERE enumtypid >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT -(8589934592 + rngtypid::bigint) FROM pg_range, fresh WHERE rngtypid >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT 0 FROM pg_operator, fresh WHERE oid >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT 0 FROM pg_opclass, fresh WHERE oid >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT 0 FROM pg_opfamily, fresh WHERE oid >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT 0 FROM pg_collation, fresh WHERE oid >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT 0 FROM pg_cast, fresh WHERE oid >= 16384 AND age(xmin) <= fresh.age
  UNION SELECT 0 FROM pg_default_acl, fresh WHERE age(xmin) <= fresh.age
),
stamps AS (
  SELECT h.unit, sum(h.n) || CASE WHEN h.unit = 0 THEN '|' || (SELECT stamp FROM global) ELSE '' END AS stamp
  FROM held h WHERE h.unit IS DISTINCT FROM to_regclass($1)::oid::bigint GROUP BY h.unit
),
differ AS (
  SELECT s.unit FROM stamps s
  LEFT JOIN unnest($2::bigint[], $3::text[]) AS p(unit, stamp) ON p.unit = s.unit::bigint
  WHERE p.stamp IS DISTINCT FROM s.stamp
  UNION SELECT r.unit FROM touched t JOIN rels r ON r.oid = t.rel
  UNION SELECT d.unit FROM notes d, fresh WHERE age(d.xmin) <= fresh.age
  UNION SELECT unit FROM touched_units
),
-- Every unit is read again when unit 0 differs, when a schema does (its
-- objects' names change) or when more than 32 units do (looking for their
-- dependents costs more than reading everything: Lemmy's history).
wide AS (
  SELECT EXISTS (SELECT 1 FROM differ WHERE unit = 0)
      OR EXISTS (SELECT 1 FROM differ d JOIN ns n ON n.unit = d.unit)
      OR (SELECT count(*) FROM differ) > 32 AS all_units
),
-- The objects that name an object of a differing unit: a relation (or its
-- row type), a type (or its array type), a function.
deps AS (
  SELECT d.classid, d.objid
  FROM (SELECT 'pg_class'::regclass AS cls, r.oid FROM rels r WHERE r.unit IN (SELECT unit FROM differ)
        UNION ALL SELECT 'pg_type'::regclass, r.reltype FROM rels r WHERE r.unit IN (SELECT unit FROM differ)
        UNION ALL SELECT 'pg_type'::regclass, a.typarray FROM rels r JOIN pg_type a ON a.oid = r.reltype
          WHERE r.unit IN (SELECT unit FROM differ)
        UNION ALL SELECT 'pg_type'::regclass, t.oid FROM types t WHERE t.unit IN (SELECT unit FROM differ)
        UNION ALL SELECT 'pg_type'::regclass, t.typarray FROM types t WHERE t.unit IN (SELECT unit FROM differ) AND t.typarray <> 0
        UNION ALL SELECT 'pg_proc'::regclass, p.oid FROM procs p WHERE p.unit IN (SELECT unit FROM differ)) f
  -- Driven by the few changed objects: one index lookup each.
  CROSS JOIN LATERAL (SELECT d.classid, d.objid FROM pg_depend d
    WHERE d.refclassid = f.cls AND d.refobjid = f.oid OFFSET 0) d
  -- Not when every unit is read anyway (a whole read spent most of its
  -- time here).
  WHERE NOT (SELECT all_units FROM wide)
),
-- Their units, joined as sets (one lookup each cost 70 µs a row on Lemmy's
-- schema, where a column added to a central table has 130 dependents).
dependents(unit) AS (
  SELECT r.unit FROM deps d JOIN rels r ON r.oid = d.objid WHERE d.classid = 'pg_class'::regclass
  UNION ALL SELECT r.unit FROM deps d JOIN pg_rewrite w ON w.oid = d.objid JOIN rels r ON r.oid = w.ev_class
    WHERE d.classid = 'pg_rewrite'::regclass
  UNION ALL SELECT coalesce(r.unit, -(8589934592 + c.contypid::bigint)) FROM deps d JOIN pg_constraint c ON c.oid = d.objid
    LEFT JOIN rels r ON r.oid = c.conrelid WHERE d.classid = 'pg_constraint'::regclass
  UNION ALL SELECT r.unit FROM deps d JOIN pg_attrdef a ON a.oid = d.objid JOIN rels r ON r.oid = a.adrelid
    WHERE d.classid = 'pg_attrdef'::regclass
  UNION ALL SELECT r.unit FROM deps d JOIN pg_trigger t ON t.oid = d.objid JOIN rels r ON r.oid = t.tgrelid
    WHERE d.classid = 'pg_trigger'::regclass
  UNION ALL SELECT r.unit FROM deps d JOIN pg_policy p ON p.oid = d.objid JOIN rels r ON r.oid = p.polrelid
    WHERE d.classid = 'pg_policy'::regclass
  -- A relation's row type and its array type are the relation's; a type's
  -- array type is the type's; any other type is read in full.
  UNION ALL SELECT coalesce((SELECT r.unit FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem
        JOIN rels r ON r.oid = coalesce(nullif(t.typrelid, 0), e.typrelid) WHERE t.oid = d.objid),
      (SELECT y.unit FROM pg_type t JOIN types y ON y.oid = t.oid OR (y.oid = t.typelem AND y.typarray = t.oid)
        WHERE t.oid = d.objid LIMIT 1), 0)
    FROM deps d WHERE d.classid = 'pg_type'::regclass
  UNION ALL SELECT coalesce(p.unit, 0) FROM deps d LEFT JOIN procs p ON p.oid = d.objid WHERE d.classid = 'pg_proc'::regclass
  UNION ALL SELECT -(17179869184 + d.objid::bigint) FROM deps d WHERE d.classid = 'pg_extension'::regclass
),
changed AS (
  SELECT unit FROM differ
  UNION SELECT d.unit FROM dependents d JOIN stamps s ON s.unit = d.unit
  UNION SELECT s.unit FROM stamps s, wide WHERE wide.all_units
),
chrels AS (SELECT r.* FROM rels r JOIN changed ch ON ch.unit = r.unit),
objects(kind, name, definition, columns, position, unit) AS (
  SELECT 'schema', nspname, '', NULL::text, NULL::bigint, unit FROM ns WHERE unit IN (SELECT unit FROM changed)
  UNION ALL
  SELECT 'extension', e.extname::text, 'schema ' || n.nspname, NULL, NULL, -(17179869184 + e.oid::bigint)
  FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
  WHERE e.extname <> 'plpgsql' AND -(17179869184 + e.oid::bigint) IN (SELECT unit FROM changed)
  UNION ALL
  SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, t.qname,
    CASE t.typtype
      WHEN 'e' THEN 'enum (' || (SELECT string_agg(quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) || ')'
      WHEN 'd' THEN concat_ws(' ', format_type(t.typbasetype, t.typtypmod), CASE WHEN t.typnotnull THEN 'not null' END, 'default ' || t.typdefault)
      WHEN 'r' THEN 'range of ' || (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r WHERE r.rngtypid = t.oid)
      WHEN 'm' THEN 'multirange'
      ELSE 'composite (' || (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) || ')'
    END, NULL, NULL, t.unit
  FROM types t WHERE t.typtype <> 'm' AND t.unit IN (SELECT unit FROM changed)
  UNION ALL
  SELECT 'sequence', r.qname,
    concat_ws(' ', format_type(s.seqtypid, NULL), 'start', s.seqstart, 'increment', s.seqincrement, 'min', s.seqmin, 'max', s.seqmax, 'cache', s.seqcache, CASE WHEN s.seqcycle THEN 'cycle' END, 'owned by ' || own.owner),
    NULL, NULL, r.unit
  FROM chrels r JOIN pg_sequence s ON s.seqrelid = r.oid
  LEFT JOIN LATERAL (SELECT o.qname || '.' || a.attname AS owner FROM pg_depend d
     JOIN rels o ON o.oid = d.refobjid JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
     WHERE d.classid = 'pg_class'::regclass AND d.objid = r.oid AND d.deptype IN ('a', 'i') LIMIT 1) own ON true
  UNION ALL
  SELECT 'table', r.qname,
    concat_ws(' ', CASE r.relkind WHEN 'p' THEN 'partitioned by ' || pg_get_partkeydef(r.oid) WHEN 'f' THEN 'foreign' END,
      CASE WHEN r.relispartition THEN 'partition of ' || (SELECT p.qname FROM pg_inherits i JOIN rels p ON p.oid = i.inhparent WHERE i.inhrelid = r.oid) || ' ' || pg_get_expr(r.relpartbound, r.oid) END,
      CASE WHEN r.relpersistence = 'u' THEN 'unlogged' END, CASE WHEN r.relrowsecurity THEN 'row level security' END,
      'with (' || array_to_string(r.reloptions, ', ') || ')'),
    NULL, NULL, r.unit
  FROM chrels r WHERE r.relkind IN ('r', 'p', 'f')
  UNION ALL
  SELECT 'column', r.qname || '.' || a.attname,
    concat_ws(' ', format_type(a.atttypid, a.atttypmod),
      CASE WHEN a.attcollation <> t.typcollation THEN 'collate ' || co.collname END,
      CASE WHEN a.attnotnull THEN 'not null' END,
      CASE WHEN a.attgenerated = 's' THEN 'generated always as (' || pg_get_expr(d.adbin, d.adrelid) || ') stored'
           ELSE 'default ' || pg_get_expr(d.adbin, d.adrelid) END,
      CASE a.attidentity WHEN 'a' THEN 'generated always as identity' WHEN 'd' THEN 'generated by default as identity' END),
    NULL, row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum), r.unit
  FROM chrels r JOIN pg_attribute a ON a.attrelid = r.oid JOIN pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  LEFT JOIN pg_collation co ON co.oid = a.attcollation
  WHERE r.relkind IN ('r', 'p', 'f') AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'constraint', coalesce(r.qname, t.qname) || '.' || con.conname, pg_get_constraintdef(con.oid, true), NULL, NULL, coalesce(r.unit, t.unit)
  FROM pg_constraint con LEFT JOIN rels r ON r.oid = con.conrelid LEFT JOIN types t ON t.oid = con.contypid
  WHERE (r.oid IS NOT NULL AND r.unit IN (SELECT unit FROM changed)) OR (t.oid IS NOT NULL AND t.unit IN (SELECT unit FROM changed))
  UNION ALL
  SELECT 'index', i.qname, pg_get_indexdef(i.oid) || CASE WHEN ix.indisvalid THEN '' ELSE ' (invalid)' END, NULL, NULL, i.unit
  FROM pg_index ix JOIN chrels i ON i.oid = ix.indexrelid
  UNION ALL
  SELECT CASE r.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END, r.qname, pg_get_viewdef(r.oid, true),
    (SELECT string_agg(a.attname, ',' ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped),
    NULL, r.unit
  FROM chrels r WHERE r.relkind IN ('v', 'm')
  UNION ALL
  SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END, p.qname,
    CASE WHEN p.prokind = 'a' THEN 'returns ' || pg_get_function_result(p.oid) ELSE pg_get_functiondef(p.oid) END, NULL, NULL, p.unit
  FROM procs p WHERE p.unit IN (SELECT unit FROM changed)
  UNION ALL
  SELECT 'trigger', r.qname || '.' || t.tgname, pg_get_triggerdef(t.oid, true) || CASE t.tgenabled WHEN 'D' THEN ' (disabled)' ELSE '' END, NULL, NULL, r.unit
  FROM pg_trigger t JOIN chrels r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
  UNION ALL
  SELECT 'rule', r.qname || '.' || w.rulename, pg_get_ruledef(w.oid, true), NULL, NULL, r.unit
  FROM pg_rewrite w JOIN chrels r ON r.oid = w.ev_class WHERE w.rulename <> '_RETURN'
  UNION ALL
  SELECT 'policy', r.qname || '.' || pol.polname,
    concat_ws(' ', CASE WHEN pol.polpermissive THEN 'permissive' ELSE 'restrictive' END,
      'for ' || CASE pol.polcmd WHEN 'r' THEN 'select' WHEN 'a' THEN 'insert' WHEN 'w' THEN 'update' WHEN 'd' THEN 'delete' ELSE 'all' END,
      'to ' || (SELECT string_agg(CASE WHEN x = 0 THEN 'public' ELSE pg_get_userbyid(x)::text END, ', ' ORDER BY 1) FROM unnest(pol.polroles) x),
      'using (' || pg_get_expr(pol.polqual, pol.polrelid) || ')', 'with check (' || pg_get_expr(pol.polwithcheck, pol.polrelid) || ')'),
    NULL, NULL, r.unit
  FROM pg_policy pol JOIN chrels r ON r.oid = pol.polrelid
  UNION ALL
  SELECT 'grant', g.object || ' to ' || CASE WHEN g.grantee = 0 THEN 'public' ELSE pg_get_userbyid(g.grantee)::text END,
    string_agg(g.privilege_type || CASE WHEN g.is_grantable THEN ' with grant option' ELSE '' END, ', ' ORDER BY g.privilege_type), NULL, NULL, g.unit
  FROM (
    SELECT CASE WHEN r.relkind = 'S' THEN 'sequence ' ELSE 'table ' END || r.qname AS object, r.unit, r.relowner AS owner,
           (aclexplode(coalesce(r.relacl, acldefault(CASE WHEN r.relkind = 'S' THEN 's' ELSE 'r' END::"char", r.relowner)))).*
    FROM chrels r WHERE r.relkind IN ('r', 'p', 'f', 'v', 'm', 'S')
    UNION ALL
    SELECT 'schema ' || n.nspname, n.unit, n.nspowner, (aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner)))).* FROM ns n
    WHERE n.unit IN (SELECT unit FROM changed)
    UNION ALL
    SELECT 'function ' || p.qname, p.unit, p.proowner, (aclexplode(coalesce(p.proacl, acldefault('f', p.proowner)))).* FROM procs p
    WHERE p.unit IN (SELECT unit FROM changed)
    UNION ALL
    SELECT 'type ' || t.qname, t.unit, t.typowner, (aclexplode(coalesce(t.typacl, acldefault('T', t.typowner)))).* FROM types t
    WHERE t.unit IN (SELECT unit FROM changed)
  ) g WHERE g.grantee <> g.owner
  GROUP BY g.object, g.grantee, g.unit
  UNION ALL
  SELECT 'comment', o.type || ' ' || o.identity, d.description, NULL, NULL, d.unit
  FROM notes d,
    LATERAL pg_identify_object(d.classoid, d.objoid, d.objsubid) o
  WHERE d.unit IN (SELECT unit FROM changed)
    AND (o.schema IN (SELECT nspname FROM ns) OR (o.type = 'schema' AND o.identity IN (SELECT nspname FROM ns)))
    AND NOT EXISTS (SELECT 1 FROM ext e WHERE e.classid = d.classoid AND e.objid = d.objoid)
)
SELECT kind, name, coalesce(definition, ''), columns, position, unit::bigint FROM objects
WHERE unit IN (SELECT unit FROM changed)
UNION ALL
SELECT NULL, CASE WHEN unit IN (SELECT unit FROM changed) THEN 'read' END, stamp, NULL, NULL, unit::bigint FROM stamps
UNION ALL
SELECT NULL, 'xmax', (pg_snapshot_xmax(pg_current_snapshot())::text::bigint % 4294967296)::text, NULL, NULL, NULL

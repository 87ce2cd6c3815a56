// Message: concept constraint
// Revises: 20241201_1200_c3d4e5
// Created: 2024-12-02 09:00:00Z
//
// Concepts are looked up by name, so the name is made unique (the
// constraint's backing index serves those lookups), and the (subject, grade)
// pair the prerequisite migration and the tutor's curriculum queries match on
// gets an index. Schema statements only, so Neo4j runs each one in its own
// auto-commit transaction and the history record is written dirty first.

// migrate:up
CREATE CONSTRAINT concept_name_unique IF NOT EXISTS
FOR (c:Concept) REQUIRE c.name IS UNIQUE;

CREATE INDEX concept_subject_grade IF NOT EXISTS
FOR (c:Concept) ON (c.subject, c.grade);

// migrate:down
DROP INDEX concept_subject_grade IF EXISTS;

DROP CONSTRAINT concept_name_unique IF EXISTS;

// Message: prerequisite relationships
// Revises: 20241202_0900_d4e5f6
// Created: 2024-12-02 10:00:00Z
//
// A data migration. Within one subject and grade, a concept is a
// prerequisite of the concept one difficulty level above it. Every
// relationship this migration creates carries source 'migration_e5f6a7', so
// the down section removes exactly those and never one a teacher drew by
// hand. Data statements only, so it runs in one transaction together with
// its history record.

// migrate:up
MATCH (a:Concept), (b:Concept)
WHERE a.subject = b.subject
  AND a.grade = b.grade
  AND b.difficulty = a.difficulty + 1
  AND NOT (a)-[:PREREQUISITE]->(b)
CREATE (a)-[:PREREQUISITE {source: 'migration_e5f6a7'}]->(b);

// migrate:down
MATCH (:Concept)-[r:PREREQUISITE {source: 'migration_e5f6a7'}]->(:Concept)
DELETE r;

// Message: {message}
// Revises: {revises}
// Created: {created}
//
// Other headers you may add above the up marker, in the same form:
//   Transaction   single (the default) or none, needed for CALL { ... } IN TRANSACTIONS
//   Irreversible  true, then leave the down section empty
//
// Neo4j cannot mix schema commands (constraints, indexes) and data writes in
// one transaction: keep them in separate migrations. Constraints and indexes
// are dropped by name only, so name them when you create them
// (CREATE CONSTRAINT concept_id IF NOT EXISTS ...). End each statement with ;.

// migrate:up


// migrate:down


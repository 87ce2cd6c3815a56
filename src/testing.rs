//! Round-trip (stairway) testing harness. (skeleton)

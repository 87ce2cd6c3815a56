//! postgres backend. (skeleton)

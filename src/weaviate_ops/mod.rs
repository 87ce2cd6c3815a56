//! The typed operations of a `.weaviate.json` migration and the checks that
//! need no server: the file format, validation against a schema, and the
//! target schema of a rebuild. Driver-free (serde only), so the build helper
//! refuses a bad operation at build time; the `weaviate` backend turns the
//! operations into HTTP calls.

mod file;
mod rebuild;
mod validate;

pub use file::{Operation, TenantSpec, WeaviateFile};
pub use rebuild::{convert_value, map_properties, rebuild_target, rebuild_temp_name};
pub use validate::{merged_update, validate, OpsError, Schema};

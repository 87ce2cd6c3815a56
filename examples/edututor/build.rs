//! Embeds `migrations/` with build-time checksums; a malformed file or a
//! broken history (two heads, a missing parent, …) fails the build.

fn main() {
    dbmigrate_build::embed("migrations").expect("migrations");
}

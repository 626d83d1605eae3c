// The migrations are embedded at compile time (`sqlx::migrate!`): one added or changed must
// rebuild the crate, which cargo does not know of by itself (sqlx's documented build script).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

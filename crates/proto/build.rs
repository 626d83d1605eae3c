//! Generates the Rust types and gRPC stubs from `proto/hyperagent/v1/*.proto`, plus a descriptor set
//! for server reflection. Uses `PROTOC` when set, else Debian's `/usr/bin/protoc` (installed by
//! `scripts/setup.sh`).
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time, not with env!(): the build script binary may be reused by a checkout at
    // another path sharing the target folder.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files: Vec<PathBuf> = ["common", "agent", "client"]
        .iter()
        .map(|f| root.join(format!("hyperagent/v1/{f}.proto")))
        .collect();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    if std::env::var_os("PROTOC").is_none() {
        // SAFETY: build scripts are single-threaded here; nothing else reads the environment yet.
        unsafe { std::env::set_var("PROTOC", "/usr/bin/protoc") };
    }
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .codec_path("crate::codec::LeanCodec")
        .file_descriptor_set_path(out.join("hyperagent_descriptor.bin"))
        .compile_protos(&files, &[root])?;
    Ok(())
}

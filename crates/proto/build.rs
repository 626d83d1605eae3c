//! Generates the Rust types and gRPC stubs from `proto/hyperagent/v1/*.proto`, plus a descriptor set
//! for server reflection, and the client of OpenTelemetry's trace export service. Uses `PROTOC` when set, else Debian's `/usr/bin/protoc` (installed by
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
    let descriptor = out.join("hyperagent_descriptor.bin");
    tonic_prost_build::configure()
        .codec_path("crate::codec::LeanCodec")
        // Well-known types with proto3 JSON (Timestamp as RFC 3339) for the web API.
        .compile_well_known_types(true)
        .extern_path(".google.protobuf", "::pbjson_types")
        .file_descriptor_set_path(&descriptor)
        .compile_protos(&files, std::slice::from_ref(&root))?;
    // serde impls following the proto3 JSON mapping, for the same messages: the web API speaks
    // the gRPC contract as JSON.
    pbjson_build::Builder::new()
        .register_descriptors(&std::fs::read(&descriptor)?)?
        .preserve_proto_field_names()
        .emit_fields()
        .build(&[".hyperagent.v1"])?;
    // OpenTelemetry's trace export service (vendored in proto/opentelemetry, Apache-2.0): the
    // manager is its client, sending traces to a collector the person runs.
    let otlp = root.join("opentelemetry/proto/collector/trace/v1/trace_service.proto");
    println!(
        "cargo:rerun-if-changed={}",
        root.join("opentelemetry").display()
    );
    tonic_prost_build::configure()
        .build_server(false)
        .compile_protos(&[otlp], &[root])?;
    Ok(())
}

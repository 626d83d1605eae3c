//! Generated types of the HyperAgent gRPC contracts. Nothing here is written by hand: edit
//! `proto/hyperagent/v1/*.proto` and rebuild. Only the manager's `grpc` module and clients use these.
#![allow(missing_docs, clippy::all)]

/// `hyperagent.v1`: messages and services.
pub mod v1 {
    tonic::include_proto!("hyperagent.v1");

    /// The encoded descriptor set of every file, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("hyperagent_descriptor");
}

//! The HyperAgent manager core: everything the always-on manager does, with no UI and no Tauri.
//!
//! How data flows: agents and clients call the gRPC services of the adapter crate
//! (`hyperagent-server`), thin handlers that convert wire types and call [`manager::Manager`]. The manager keeps the [`registry`] (agents) and
//! the active tasks behind one lock, changes task states only through [`tasks`] (the state machine),
//! asks the pure [`scheduler`] where queued work goes, and queues every change to the [`store`]'s
//! single writer, which commits in groups and then publishes events on the [`feed`]. Nothing is
//! acknowledged before it is committed. [`supervisor`] runs agent processes from manifests;
//! [`sandbox`] confines every process it starts (Landlock, user and network namespaces);
//! [`config`] holds every tunable. This crate knows no transport and no generated wire type:
//! sockets, discovery, health, reflection and the web API live in `hyperagent-server`.
//! [`catalogue`] lists the project templates found in the template folders, with their answers
//! schemas, and rescans them when they change (a `TemplatesChanged` event on the feed).
//! [`router`] turns plain words into steps, a question or a refusal; [`plan`] holds the steps as
//! a DAG the manager runs as tasks, each on the agent its transparent score chose.
#![deny(missing_docs)]

pub mod catalogue;
pub mod cgroup;
pub mod clock;
pub mod config;
pub mod consent;
pub mod conversation;
pub mod diskspace;
pub mod drift;
pub mod editor;
pub mod egress;
pub mod error;
pub mod feed;
pub mod manager;
pub mod message;
pub mod model;
pub mod peer;
pub mod plan;
pub mod policy;
pub mod private;
pub mod question;
pub mod registry;
pub mod rollback;
pub mod router;
pub mod sandbox;
pub mod scheduler;
pub mod schema;
pub mod secrets;
pub mod store;
pub mod supervisor;
pub mod tasks;
pub mod token;
pub mod trace;
pub mod workspace;

pub use config::Config;
pub use error::{Error, Result};
pub use manager::Manager;

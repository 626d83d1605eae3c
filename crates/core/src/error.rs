//! The one error type of the manager core. Each variant says what was wrong and, where it helps, what
//! is allowed; `grpc` maps variants onto status codes.
use crate::model::TaskState;

/// Everything the manager core can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input from a client or an agent that breaks a rule; the message names the field and the rule.
    #[error("{0}")]
    InvalidInput(String),
    /// A task id that is not known.
    #[error("no task with id `{0}`")]
    TaskNotFound(String),
    /// A plan id that is not known.
    #[error("no plan with id `{0}`")]
    PlanNotFound(String),
    /// A conversation id that is not known.
    #[error("no conversation with id `{0}` (`hyperagent chat` lists them with /sessions)")]
    ConversationNotFound(String),
    /// An agent id that is not known.
    #[error("no agent with id `{0}`")]
    AgentNotFound(String),
    /// An idempotency key reused for a different request.
    #[error("idempotency key `{key}` was already used for task {task_id} with a different request; use a new key")]
    IdempotencyConflict {
        /// The key.
        key: String,
        /// The task it belongs to.
        task_id: String,
    },
    /// A state change the task state machine does not allow.
    #[error("task {task_id} cannot go from {from} to {to}")]
    IllegalTransition {
        /// The task.
        task_id: String,
        /// Its current state.
        from: TaskState,
        /// The state asked for.
        to: TaskState,
    },
    /// The request is valid but does not apply to the current state (e.g. cancel of an ended task).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A missing, forged or expired session or capability token.
    #[error("{0}")]
    Unauthenticated(String),
    /// A caller holds as much of something as it may (e.g. messages awaiting delivery); it may
    /// ask again once some is done.
    #[error("{0}")]
    Exhausted(String),
    /// A valid token used for something it does not cover.
    #[error("{0}")]
    PermissionDenied(String),
    /// Another manager already serves this socket.
    #[error("another HyperAgent manager (pid {pid}) is already serving {socket}; stop it first, or start this one with another --socket")]
    AlreadyRunning {
        /// The other manager's pid, when known (0 otherwise).
        pid: u32,
        /// The socket path.
        socket: String,
    },
    /// Another manager already uses this data directory (perhaps through another socket).
    #[error("another HyperAgent manager (pid {pid}) already uses the data directory {data_dir} (through another socket, e.g. with another XDG_RUNTIME_DIR); two managers on one database would run the same tasks twice. Stop it first, or give this one another paths.data_dir")]
    DataDirInUse {
        /// The other manager's pid, when known (0 otherwise).
        pid: u32,
        /// The data directory.
        data_dir: String,
    },
    /// A configuration file that cannot be used.
    #[error("config {path}: {message}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong in it.
        message: String,
    },
    /// The keychain failed (the message never contains a secret's value).
    #[error("{0}")]
    Secret(String),
    /// The kernel sandbox cannot be set up.
    #[error("sandbox: {0}")]
    Sandbox(String),
    /// An agent manifest (`agent.toml`) that cannot be used.
    #[error("agent manifest {path}: {message}")]
    Manifest {
        /// The file.
        path: String,
        /// What is wrong in it.
        message: String,
    },
    /// The database failed.
    #[error("database: {0}")]
    Store(#[from] sqlx::Error),
    /// A database migration failed.
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A file or socket operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The manager is shutting down and takes no more work.
    #[error("the manager is shutting down")]
    ShuttingDown,
    /// A database write failed: the change asked for was not made, and the manager stops (what it
    /// holds in memory may no longer match what is stored; a restart reads the truth back).
    #[error("the database could not be written ({0}); nothing of this request was kept, and the manager is stopping so that it acknowledges nothing it has not stored. Free space on the disk holding the data directory (or fix the error) and start it again: interrupted tasks then follow tasks.on_manager_restart")]
    StoreFailed(String),
    /// The disk holding the data directory is nearly full: new work is refused until it has room.
    #[error("the disk holding the data directory {data_dir} has {free} bytes free, less than the {min} (store.min_free_bytes) HyperAgent keeps for its records; new tasks and messages are refused, and log lines and reports dropped, until there is room. Free some space and try again")]
    DiskLow {
        /// The data directory.
        data_dir: String,
        /// Bytes free.
        free: u64,
        /// The reserve asked for.
        min: u64,
    },
}

impl Error {
    /// An [`Error::Io`] with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The pure Raft core: a deterministic state machine with no threads, clocks, IO, locks, channels or global
//! randomness. Time arrives as `tick()` calls and randomness from a PRNG seeded through [`Config`], so one seed
//! and one sequence of inputs always produce the same outputs.
//!
//! Start with [`Raft::new`], feed it inputs, and after each input drain [`Raft::take_ready`]; the duties that
//! come with a [`Ready`] are listed in the [`raft`] module's documentation.

pub mod config;
pub mod log;
pub mod message;
pub mod persist;
pub mod raft;

pub use config::{Config, ConfigError, Pacing};
pub use log::RaftLog;
pub use message::{
    AppendEntries, AppendEntriesReply, DecodeError, Entry, Index, InstallSnapshot, InstallSnapshotReply, PeerId, Reply,
    Request, RequestVote, RequestVoteReply, RpcKind, Term, MAX_INDEX, MAX_TERM,
};
pub use persist::{Header, PersistImage, PersistedState, RestoreError};
pub use raft::{Apply, InvalidMessage, NotLeader, Raft, Ready, Role, SnapshotError, StartError, Status};

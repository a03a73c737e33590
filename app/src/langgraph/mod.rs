//! LangGraph's own Postgres tables, read and written in the layout langgraph-checkpoint-postgres
//! uses, so a Python LangGraph agent and the app work on the same rows.
//!
//! - [`checkpoints`]: a thread's chat history (read it, append a turn, delete the thread);
//! - [`messages`]: the messages as the app sees them;
//! - [`blobs`]: the `messages` channel as stored in `checkpoint_blobs` (`json` or `msgpack`);
//! - [`ids`] and [`versions`]: checkpoint ids and channel versions as Python makes them;
//! - [`store`]: long-term memory items in the `store` table.

pub mod blobs;
pub mod checkpoints;
pub mod ids;
mod json_codec;
pub mod messages;
mod msgpack_codec;
mod random;
pub mod store;
pub mod versions;

/// The checkpointer's tables, as `PostgresSaver.setup()` creates them: a thread's rows live in
/// the first three (there are no foreign keys), the last records the set-up steps applied.
pub const CHECKPOINT_TABLES: [&str; 4] =
    ["checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations"];

/// The store's tables, as `PostgresStore.setup()` creates them: items, and the set-up steps applied.
pub const STORE_TABLES: [&str; 2] = ["store", "store_migrations"];

/// Every LangGraph table: what our migrations must create exactly as the Python library does.
pub const LANGGRAPH_TABLES: [&str; 6] = {
    let [checkpoints, blobs, writes, checkpoint_migrations] = CHECKPOINT_TABLES;
    let [store, store_migrations] = STORE_TABLES;
    [checkpoints, blobs, writes, checkpoint_migrations, store, store_migrations]
};

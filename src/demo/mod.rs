//! `convene demo`: the Japan 2022 dialogue from the seed report, and an upcoming edition.

pub mod dialogues;
pub mod seed;

use crate::db::DbPool;

/// Loads the demo data; running it twice changes nothing the second time.
pub async fn load(_pool: &DbPool) -> anyhow::Result<()> {
    println!("demo data: nothing to load yet");
    Ok(())
}

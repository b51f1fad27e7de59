//! What a copy of the database shows (STD1-SRV-2, STD1-LIFE-3,
//! STD1-MSG-15). Only for targets that expose a test-only DSN: the dump is
//! every row of every table of the `public` schema, as JSON text, the way
//! an attacker with a backup would read it.

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

use super::Args;
use crate::features::world::{FeatureWorld, StepFailure, expected, hex};

type Outcome = Result<(), StepFailure>;

/// Every row of every table of the `public` schema (the migrations'
/// bookkeeping aside), one JSON object per row.
async fn dump(world: &FeatureWorld) -> Result<String, StepFailure> {
    let url = world
        .target
        .database_url
        .as_deref()
        .ok_or_else(|| StepFailure::Setup("the target has no database URL".into()))?;
    let mut conn = PgConnection::connect(url).await?;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT quote_ident(table_name) FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
         AND table_name <> '_sqlx_migrations' ORDER BY table_name",
    )
    .fetch_all(&mut conn)
    .await?;
    if tables.is_empty() {
        return Err(expected("the database has no tables: is it the target's?"));
    }
    let mut text = String::new();
    for table in tables {
        // The name comes from the catalogue, quoted by quote_ident.
        let sql = format!("SELECT to_jsonb(t)::text FROM public.{table} t");
        let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut conn)
            .await?;
        for row in rows {
            text.push_str(&row);
            text.push('\n');
        }
    }
    conn.close().await?;
    Ok(text)
}

/// How PostgreSQL renders a `bytea` value in JSON: `\x` and lowercase hex
/// (the backslash itself escaped in JSON text).
fn bytea(bytes: &[u8]) -> String {
    format!("\\\\x{}", hex(bytes))
}

/// The scenario's values a database must never hold in any form that can
/// be reversed (STD1-SRV-2), by what they are.
async fn forbidden(world: &mut FeatureWorld) -> Result<Vec<(String, String)>, StepFailure> {
    // The key is derived for the check even if no message was sent.
    if let Some(room) = world.room.clone() {
        world.key(room.room_id).await?;
    }
    let digits = world.phone.digits().to_owned();
    let s = &world.secrets;
    let mut needles = vec![
        ("the steg number".to_owned(), digits.clone()),
        ("the steg number".to_owned(), format!("+{digits}")),
    ];
    needles.extend(s.pins.iter().map(|p| ("a PIN".to_owned(), p.clone())));
    needles.extend(
        s.pairing_codes
            .iter()
            .map(|c| ("a pairing code".to_owned(), c.clone())),
    );
    needles.extend(
        s.plaintexts
            .iter()
            .map(|p| ("a plaintext".to_owned(), p.clone())),
    );
    for key in &s.keys {
        needles.push(("the message key".to_owned(), hex(key)));
        needles.push((
            "the message key".to_owned(),
            stelgano_spec::b64::encode(key),
        ));
        needles.push(("the message key".to_owned(), bytea(key)));
    }
    needles.extend(
        s.addresses
            .iter()
            .map(|a| ("a client's network address".to_owned(), a.clone())),
    );
    Ok(needles)
}

/// Positive control: the dump holds this scenario's live room, so the
/// absence checks cannot pass against the wrong database. The room id is
/// looked for rather than the room hash, which a server may store keyed
/// (STD1-SRV-1).
pub async fn holds_room(world: &mut FeatureWorld, _: Args) -> Outcome {
    let room_id = world.room()?.room_id.to_string();
    if dump(world).await?.contains(&room_id) {
        Ok(())
    } else {
        Err(expected(
            "the dump does not hold the scenario's room id: is it the target's database?",
        ))
    }
}

pub async fn holds_no_secrets(world: &mut FeatureWorld, _: Args) -> Outcome {
    let needles = forbidden(world).await?;
    let text = dump(world).await?;
    // STD1-SRV-2: no steg number, PIN, pairing code, key, plaintext or
    // network address, in any form.
    match needles
        .iter()
        .find(|(_, needle)| text.contains(needle.as_str()))
    {
        None => Ok(()),
        Some((what, _)) => Err(expected(format!("the dump holds {what}"))),
    }
}

/// STD1-SRV-25: the store keeps the clients' hashes only keyed or sealed,
/// so none of the room, access, sender or pairing hashes the scenario's
/// clients sent appears as sent (an offline search over phone numbers
/// would match it).
pub async fn holds_no_client_hashes(world: &mut FeatureWorld, _: Args) -> Outcome {
    let text = dump(world).await?;
    if world.secrets.hashes.is_empty() {
        return Err(StepFailure::Setup("the scenario recorded no hashes".into()));
    }
    match world
        .secrets
        .hashes
        .iter()
        .find(|h| text.contains(&hex(h.as_slice())))
    {
        None => Ok(()),
        Some(_) => Err(expected(
            "the dump holds a hash as a client sent it (STD1-SRV-25: store it keyed)",
        )),
    }
}

pub async fn holds_ciphertext(world: &mut FeatureWorld, args: Args) -> Outcome {
    let label = args.get(0)?;
    let needle = bytea(&world.message(label)?.sealed.ciphertext);
    if dump(world).await?.contains(&needle) {
        Ok(())
    } else {
        Err(expected(format!(
            "the dump does not hold the ciphertext of \"{label}\""
        )))
    }
}

/// A replaced, edited or deleted message leaves neither its ciphertext
/// nor its IV (STD1-MSG-15, STD1-SRV-8).
pub async fn holds_nothing_of_message(world: &mut FeatureWorld, args: Args) -> Outcome {
    let label = args.get(0)?;
    let sealed = world.message(label)?.sealed.clone();
    let text = dump(world).await?;
    if text.contains(&hex(&sealed.ciphertext)) {
        Err(expected(format!(
            "the dump still holds the ciphertext of \"{label}\""
        )))
    } else if text.contains(&hex(&sealed.iv)) {
        Err(expected(format!(
            "the dump still holds the IV of \"{label}\""
        )))
    } else {
        Ok(())
    }
}

/// Nothing of a deleted room remains: no room id, no hash of it, no
/// message bytes (STD1-LIFE-3).
pub async fn holds_nothing_of_room(world: &mut FeatureWorld, _: Args) -> Outcome {
    let room_id = world.room()?.room_id.to_string();
    let text = dump(world).await?;
    if text.contains(&room_id) {
        return Err(expected("the dump still holds the room's id"));
    }
    let s = &world.secrets;
    if s.hashes.iter().any(|h| text.contains(&hex(h.as_slice()))) {
        return Err(expected("the dump still holds a hash of the room"));
    }
    if s.blobs.iter().any(|b| text.contains(&hex(b))) {
        return Err(expected(
            "the dump still holds a ciphertext or IV of the room",
        ));
    }
    Ok(())
}

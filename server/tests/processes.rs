//! Two server processes on one database, one party on each: the full
//! exchange, including expiry, crosses processes through LISTEN/NOTIFY
//! (issue: multi-instance; STD1-SRV-6).

mod common;

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use stelgano_spec::derive::{PartyHashes, Phone, Pin};
use stelgano_spec::pairing::PairingCode;
use stelgano_spec::wire::{
    Broadcast, Ciphertext, ClientEvent, ClientFrame, CreateRoom, ExpiryCause, Iv, JoinRoom,
    ReplyBody, SendMessage, ServerFrame,
};
use tokio_tungstenite::tungstenite::Message;

/// A server process, killed when dropped.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

async fn spawn_server(database_url: &str) -> ServerProcess {
    let addr = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_stelgano-server"))
        .args(["--listen", &addr.to_string(), "--join-time-floor-ms", "0"])
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let process = ServerProcess { child, addr };
    // Ready when it accepts connections (bounded: a server that never comes up fails the test).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "server on {addr} did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    process
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(server: &ServerProcess) -> Ws {
    tokio_tungstenite::connect_async(format!("ws://{}/ws", server.addr))
        .await
        .expect("connect")
        .0
}

async fn next(ws: &mut Ws) -> Message {
    tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("answer")
        .expect("open")
        .expect("message")
}

async fn next_frame(ws: &mut Ws) -> ServerFrame {
    match next(ws).await {
        Message::Text(t) => ServerFrame::from_json(t.as_str()).expect("a std-1 frame"),
        other => panic!("{other:?}"),
    }
}

/// Sends a request and returns its reply, skipping broadcasts before it.
async fn request(ws: &mut Ws, reference: &str, event: ClientEvent) -> ServerFrame {
    let frame = ClientFrame {
        reference: reference.parse().expect("ref"),
        event,
    };
    ws.send(Message::text(frame.to_json())).await.expect("send");
    loop {
        match next_frame(ws).await {
            ServerFrame::Broadcast(_) => continue,
            reply => return reply,
        }
    }
}

fn party(pin: &str) -> PartyHashes {
    PartyHashes::derive(
        &Phone::parse("+49 1512 3456789").expect("number"),
        &Pin::parse(pin).expect("PIN"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_serve_the_two_parties_of_a_room() {
    let database = common::empty_database().await;
    let url = common::database_url(&database);
    let (one, two) = (spawn_server(&url).await, spawn_server(&url).await);
    let (alice, bob) = (party("1234"), party("9999"));
    let pairing = PairingCode::parse("P2K4-9H7M").expect("code").hash();
    let mut a = connect(&one).await;
    let mut b = connect(&two).await;

    let create = ClientEvent::Create(CreateRoom {
        room_hash: alice.room_hash,
        access_hash: alice.access_hash,
        sender_hash: alice.sender_hash,
        pairing_hash: pairing,
        country_iso: None,
    });
    assert!(matches!(
        request(&mut a, "1", create).await,
        ServerFrame::Ok(_)
    ));
    let join = ClientEvent::Join(JoinRoom {
        room_hash: bob.room_hash,
        access_hash: bob.access_hash,
        sender_hash: bob.sender_hash,
        pairing_hash: Some(pairing),
    });
    assert!(matches!(
        request(&mut b, "1", join).await,
        ServerFrame::Ok(_)
    ));
    assert_eq!(
        next_frame(&mut a).await,
        ServerFrame::Broadcast(Broadcast::PartyPaired {})
    );

    let message = ClientEvent::SendMessage(SendMessage {
        ciphertext: Ciphertext::from_bytes(vec![1; 40]).expect("size"),
        iv: Iv::from_array([1; 12]),
        replaces: None,
    });
    let ServerFrame::Ok(sent) = request(&mut a, "2", message).await else {
        panic!("sent")
    };
    let ReplyBody::Sent(sent) = sent.ok else {
        panic!("sent")
    };
    let ServerFrame::Broadcast(Broadcast::NewMessage(m)) = next_frame(&mut b).await else {
        panic!("new_message")
    };
    assert_eq!(m.id, sent.message_id);

    assert!(matches!(
        request(&mut b, "2", ClientEvent::ExpireRoom).await,
        ServerFrame::Ok(_)
    ));
    assert_eq!(
        next_frame(&mut a).await,
        ServerFrame::Broadcast(Broadcast::RoomExpired {
            cause: ExpiryCause::Party
        })
    );
    assert!(matches!(next(&mut a).await, Message::Close(Some(f)) if u16::from(f.code) == 1000));
}

//! Messages between agents: stored before they are answered, delivered when the recipient is
//! online, again until acknowledged, dead-lettered after the allowed deliveries; kept across a
//! restart of the manager.
use super::*;
use crate::manager::{Outgoing, Sender};
use crate::message::{State as MsgState, To};

fn work(to: &str, key: &str) -> Outgoing {
    Outgoing {
        to: To::Agent(to.into()),
        kind: "work".into(),
        body_json: r#"{"n": 1}"#.into(),
        idempotency_key: key.into(),
        about_task: String::new(),
    }
}

/// The next command must be a message: it.
async fn message(rx: &mut mpsc::UnboundedReceiver<Command>) -> crate::message::Message {
    match rx.recv().await.expect("the work stream stays open") {
        Command::Message(m, _) => *m,
        other => panic!("expected a message, got {other:?}"),
    }
}

#[tokio::test]
async fn a_message_waits_for_an_offline_agent_across_a_restart_and_is_delivered_once_acked() {
    let dir = tempfile::tempdir().unwrap();
    let id;
    {
        let w = world_at(dir.path(), |_| {}).await;
        let (a, _rx_a, _ga) = agent(&w.m, "a").await;
        let (_b, rx_b, gb) = agent(&w.m, "b").await;
        drop((rx_b, gb)); // b goes offline
        let (m, created) =
            w.m.send_message(Sender::Session(&a.session_token), work("b", "k1"))
                .await
                .expect("sent");
        assert!(created);
        assert_eq!(m.state, MsgState::Pending, "b is offline: it waits");
        id = m.id;
        w.m.begin_stop();
        w.m.shutdown().await;
        w.m.inner.store.close().await;
    }
    let w = world_at(dir.path(), |c| {
        c.messages.ack_timeout = Duration::from_secs(10);
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
    })
    .await;
    let (b, mut rx, _g) = agent(&w.m, "b").await;
    let got = message(&mut rx).await;
    assert_eq!(
        (got.id.as_str(), got.deliveries, got.from.as_str()),
        (id.as_str(), 1, "a")
    );
    // Not acknowledged in time: sent again, counted.
    w.clock.advance(Duration::from_secs(11));
    tick(&w).await;
    assert_eq!(message(&mut rx).await.deliveries, 2);
    w.m.ack_message(&b.session_token, &id).await.expect("ack");
    w.m.ack_message(&b.session_token, &id)
        .await
        .expect("a repeated ack is fine");
    w.clock.advance(Duration::from_secs(11));
    tick(&w).await;
    assert!(rx.try_recv().is_err(), "acknowledged: never sent again");
    let stored = w.m.inner.store.get_message(&id).await.unwrap().unwrap();
    assert_eq!(stored.state, MsgState::Acked);
    // The same key again is the same message, acknowledged as it is.
    let (a, _rx_a, _ga) = agent(&w.m, "a").await;
    let (same, created) =
        w.m.send_message(Sender::Session(&a.session_token), work("b", "k1"))
            .await
            .unwrap();
    assert!(!created);
    assert_eq!((same.id, same.state), (id, MsgState::Acked));
}

#[tokio::test]
async fn a_message_never_acknowledged_is_dead_lettered_with_the_reason() {
    let w = world(|c| {
        c.messages.ack_timeout = Duration::from_secs(10);
        c.messages.max_deliveries = 2;
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
    })
    .await;
    let (a, _rx_a, _ga) = agent(&w.m, "a").await;
    let (b, mut rx, _g) = agent(&w.m, "b").await;
    let (m, _) =
        w.m.send_message(Sender::Session(&a.session_token), work("b", ""))
            .await
            .unwrap();
    assert_eq!(message(&mut rx).await.deliveries, 1);
    w.clock.advance(Duration::from_secs(11));
    tick(&w).await;
    assert_eq!(message(&mut rx).await.deliveries, 2);
    w.clock.advance(Duration::from_secs(11));
    tick(&w).await;
    let dead = w.m.inner.store.get_message(&m.id).await.unwrap().unwrap();
    assert_eq!(dead.state, MsgState::DeadLettered);
    assert!(
        dead.reason.contains("after 2 deliveries"),
        "{}",
        dead.reason
    );
    let e = w.m.ack_message(&b.session_token, &m.id).await.unwrap_err();
    assert!(e.to_string().contains("dead-lettered"), "{e}");
    // Only its recipient may acknowledge a message.
    let (m2, _) =
        w.m.send_message(Sender::Session(&a.session_token), work("b", ""))
            .await
            .unwrap();
    let e = w.m.ack_message(&a.session_token, &m2.id).await.unwrap_err();
    assert!(matches!(e, Error::PermissionDenied(_)), "{e}");
}

#[tokio::test]
async fn a_flooding_agent_is_held_to_its_share_and_cannot_send_as_another() {
    let w = world(|c| {
        c.messages.max_active_per_sender = 3;
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
    })
    .await;
    let (a, _rx_a, _ga) = agent(&w.m, "a").await;
    let (b, mut rx, _g) = agent(&w.m, "b").await;
    let mut sent = Vec::new();
    for _ in 0..3 {
        let (m, _) =
            w.m.send_message(Sender::Session(&a.session_token), work("b", ""))
                .await
                .unwrap();
        sent.push(m.id);
    }
    let e =
        w.m.send_message(Sender::Session(&a.session_token), work("b", ""))
            .await
            .unwrap_err();
    assert!(matches!(e, Error::Exhausted(_)), "{e}");
    assert!(
        e.to_string().contains("messages.max_active_per_sender"),
        "{e}"
    );
    assert_eq!(w.m.state().messages.len(), 3, "the refused one is not kept");
    // Another agent's messages are not held back by a's.
    w.m.send_message(Sender::Session(&b.session_token), work("a", ""))
        .await
        .expect("b has its own share");
    // Once b handles one of a's, a may send one more.
    for _ in 0..3 {
        message(&mut rx).await;
    }
    w.m.ack_message(&b.session_token, &sent[0]).await.unwrap();
    w.m.send_message(Sender::Session(&a.session_token), work("b", ""))
        .await
        .expect("room again");
    // A sender is who its credentials say: a made-up session, or a task token that is not the
    // task's, sends nothing.
    let e =
        w.m.send_message(Sender::Session("not-a-session"), work("b", ""))
            .await
            .unwrap_err();
    assert!(e.to_string().contains("unknown or replaced session"), "{e}");
    let task = Sender::Task {
        task_id: "0190a4c2-0000-7000-8000-000000000000",
        token: &a.session_token,
    };
    assert!(w.m.send_message(task, work("b", "")).await.is_err());
    assert_eq!(
        w.m.state().messages.len(),
        4,
        "3 of a's (one acked, one more) and b's"
    );
}

#[tokio::test]
async fn while_the_disk_is_nearly_full_a_message_is_refused_saying_why() {
    let w = world(|c| c.store.free_space_check_interval = Duration::from_secs(3600)).await;
    let (a, _rx_a, _ga) = agent(&w.m, "a").await;
    let (_b, _rx_b, _gb) = agent(&w.m, "b").await;
    w.m.inner.disk.pretend_free(1024);
    let e =
        w.m.send_message(Sender::Session(&a.session_token), work("b", "k1"))
            .await
            .unwrap_err();
    assert!(matches!(e, Error::DiskLow { free: 1024, .. }), "{e:?}");
    assert!(e.to_string().contains("store.min_free_bytes"), "{e}");
    let sent =
        w.m.inner
            .store
            .list_messages(None, None, None, 10)
            .await
            .unwrap();
    assert!(sent.is_empty(), "nothing stored: {sent:?}");
}

#[tokio::test]
async fn a_message_may_be_about_only_a_task_its_sender_runs() {
    let w = world(|_| {}).await;
    let (id, _start, _rx, _guard) = running(&w, echo()).await;
    let (b, _rx_b, _gb) = agent(&w.m, "b").await;
    // b runs nothing: neither a's task nor a made-up one, however long, is its to speak of.
    for about in [id.clone(), "x".repeat(1 << 20)] {
        let out = Outgoing {
            about_task: about,
            ..work("a", "")
        };
        match w
            .m
            .send_message(Sender::Session(&b.session_token), out)
            .await
        {
            Err(Error::PermissionDenied(e)) => assert!(e.len() < 512, "{e}"),
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}

/// A hostile agent's send-and-acknowledge loop: each message is stored and audited, and the
/// audit log is never pruned, so an agent may not send to itself, nor more than
/// `messages.max_per_minute_per_sender` in a minute, handled or not. (A loop of 300 grew the
/// audit log by 600 entries and the database by 18 MB in two seconds.)
#[tokio::test]
async fn an_agent_cannot_message_itself_nor_send_past_its_messages_per_minute() {
    let w = world(|c| {
        c.messages.max_per_minute_per_sender = 3;
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
    })
    .await;
    let (a, _rx_a, _ga) = agent(&w.m, "a").await;
    let (b, mut rx_b, _gb) = agent(&w.m, "b").await;
    let to_self =
        w.m.send_message(Sender::Session(&a.session_token), work("a", ""))
            .await;
    assert!(
        matches!(&to_self, Err(Error::InvalidInput(e)) if e.contains("itself")),
        "{to_self:?}"
    );
    for _ in 0..3 {
        let (m, _) =
            w.m.send_message(Sender::Session(&a.session_token), work("b", ""))
                .await
                .expect("within the minute's allowance");
        let got = message(&mut rx_b).await;
        w.m.ack_message(&b.session_token, &got.id).await.unwrap();
        assert_eq!(got.id, m.id);
    }
    let over =
        w.m.send_message(Sender::Session(&a.session_token), work("b", ""))
            .await;
    assert!(
        matches!(&over, Err(Error::Exhausted(e)) if e.contains("messages.max_per_minute_per_sender")),
        "{over:?}"
    );
    w.clock.advance(Duration::from_secs(60));
    w.m.send_message(Sender::Session(&a.session_token), work("b", ""))
        .await
        .expect("a new minute");
}

/// An agent that stops reading its Work stream holds at most `messages.max_unread_per_agent`
/// messages there; the rest wait in the manager, stored, and go out as it reads. (Every
/// delivery and redelivery was queued in the manager's memory: 1.3 GB in a minute.)
#[tokio::test]
async fn an_agent_that_does_not_read_its_stream_holds_few_messages_there_and_gets_the_rest_later() {
    let w = world(|c| {
        c.messages.max_unread_per_agent = 2;
        c.agents.heartbeat_timeout = Duration::from_secs(3600);
    })
    .await;
    let (a, _rx_a, _ga) = agent(&w.m, "a").await;
    let (_b, mut rx_b, _gb) = agent(&w.m, "b").await;
    let mut sent = Vec::new();
    for _ in 0..5 {
        let (m, _) =
            w.m.send_message(Sender::Session(&a.session_token), work("b", ""))
                .await
                .unwrap();
        sent.push(m.id);
    }
    tick(&w).await;
    let queued = |rx: &mut mpsc::UnboundedReceiver<Command>| {
        let mut ids = Vec::new();
        while let Ok(Command::Message(m, _read)) = rx.try_recv() {
            ids.push(m.id);
        }
        ids
    };
    assert_eq!(queued(&mut rx_b), sent[..2], "two unread at most");
    // Read (and dropped): the next two go out.
    tick(&w).await;
    assert_eq!(queued(&mut rx_b), sent[2..4]);
    tick(&w).await;
    assert_eq!(queued(&mut rx_b), sent[4..]);
}

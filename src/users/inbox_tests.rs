use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

use proptest::prelude::*;

use super::*;

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Counting(AtomicUsize);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting() -> (Arc<Counting>, Waker) {
    let c = Arc::new(Counting::default());
    (c.clone(), Waker::from(c))
}

fn inbox_with_mailbox() -> (Inbox<u32>, Arc<Mailbox<u32>>) {
    let mut inbox = Inbox::new();
    let mailbox = inbox.mailbox();
    (inbox, mailbox)
}

#[test]
fn try_send_gives_the_message_back_when_full() {
    let mailbox = Mailbox::new(2);
    assert_eq!(mailbox.try_send(1), Ok(()));
    assert_eq!(mailbox.try_send(2), Ok(()));
    assert_eq!(mailbox.try_send(3), Err(SendError::Full(3)));
    let (_, waker) = counting();
    assert_eq!(mailbox.pop_or_register(&waker), Some(1));
    assert_eq!(
        mailbox.try_send(3),
        Ok(()),
        "a place freed by the user is room again"
    );
}

#[test]
fn a_closed_mailbox_refuses_and_drops_what_it_held() {
    let mailbox = Arc::new(Mailbox::new(4));
    let probe = Arc::new(());
    let m2 = Mailbox::new(1);
    m2.try_send(probe.clone()).unwrap();
    m2.close();
    assert_eq!(Arc::strong_count(&probe), 1, "queued messages are dropped");
    mailbox.close();
    assert_eq!(mailbox.try_send(1), Err(SendError::UserGone(1)));
}

#[test]
fn a_message_wakes_a_waiting_recv_once() {
    let (mut inbox, mailbox) = inbox_with_mailbox();
    let (count, waker) = counting();
    assert!(inbox.pop_or_register(&waker).is_none());
    mailbox.try_send(7).unwrap();
    mailbox.try_send(8).unwrap();
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert_eq!(inbox.pop_or_register(&waker), Some(Received::Message(7)));
}

#[test]
fn a_mailbox_made_while_recv_waits_inherits_its_waker() {
    let mut inbox = Inbox::<u32>::new();
    let (count, waker) = counting();
    assert!(inbox.pop_or_register(&waker).is_none());
    let mailbox = inbox.mailbox();
    mailbox.try_send(1).unwrap();
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
}

#[test]
fn the_stop_request_comes_behind_earlier_messages_and_once() {
    let (mut inbox, mailbox) = inbox_with_mailbox();
    let (_, waker) = counting();
    mailbox.try_send(1).unwrap();
    mailbox.try_send(2).unwrap();
    assert!(inbox.request_stop());
    assert!(!inbox.request_stop());
    mailbox.try_send(3).unwrap();
    let got: Vec<_> = std::iter::from_fn(|| inbox.pop_or_register(&waker)).collect();
    assert_eq!(
        got,
        vec![
            Received::Message(1),
            Received::Message(2),
            Received::StopRequested,
            Received::Message(3)
        ]
    );
}

#[actix_rt::test]
async fn send_waits_for_room_then_delivers_in_order() {
    let (inbox, mailbox) = inbox_with_mailbox();
    for i in 0..CAPACITY as u32 {
        mailbox.try_send(i).unwrap();
    }
    let sender = mailbox.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let waiting = tokio::spawn(async move {
        for i in CAPACITY as u32..CAPACITY as u32 + 3 {
            sender.send(i).await.unwrap();
            tx.send(i).unwrap();
        }
    });
    tokio::task::yield_now().await;
    assert!(
        rx.try_recv().is_err(),
        "send returned while the mailbox was full"
    );
    let inbox = RefCell::new(inbox);
    let mut got = Vec::new();
    for _ in 0..CAPACITY + 3 {
        match recv(&inbox).await {
            Received::Message(m) => got.push(m),
            other => panic!("unexpected {other:?}"),
        }
    }
    waiting.await.unwrap();
    assert_eq!(got, (0..CAPACITY as u32 + 3).collect::<Vec<_>>());
    inbox.borrow_mut().clear();
}

#[actix_rt::test]
async fn waiting_senders_get_their_message_back_when_the_user_ends() {
    let (mut inbox, mailbox) = inbox_with_mailbox();
    for i in 0..CAPACITY as u32 {
        mailbox.try_send(i).unwrap();
    }
    let sender = mailbox.clone();
    let waiting = tokio::spawn(async move { sender.send(99).await });
    tokio::task::yield_now().await;
    inbox.clear();
    assert_eq!(waiting.await.unwrap(), Err(SendError::UserGone(99)));
}

#[derive(Debug, Clone)]
enum Op {
    TrySend(u32),
    Pop,
    Stop,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<u32>().prop_map(Op::TrySend),
        2 => Just(Op::Pop),
        1 => Just(Op::Stop),
    ]
}

proptest! {
    /// The inbox against a naive model: a bounded queue and the stop request's position.
    #[test]
    fn behaves_like_a_bounded_queue_with_a_stop_marker(
        capacity in 1usize..6,
        ops in proptest::collection::vec(op(), 0..60),
    ) {
        let mut inbox = Inbox::<u32>::new();
        let mailbox = Arc::new(Mailbox::new(capacity));
        inbox.mailbox = Some(mailbox.clone());
        let (_, waker) = counting();
        let mut queue: VecDeque<u32> = VecDeque::new();
        let mut stop_at: Option<usize> = None;
        let mut stop_done = false;
        for op in ops {
            match op {
                Op::TrySend(m) => {
                    let want = if queue.len() < capacity { Ok(()) } else { Err(SendError::Full(m)) };
                    if want.is_ok() {
                        queue.push_back(m);
                    }
                    prop_assert_eq!(mailbox.try_send(m), want);
                }
                Op::Pop => {
                    let want = match stop_at {
                        Some(0) if !stop_done => {
                            stop_done = true;
                            Some(Received::StopRequested)
                        }
                        _ => queue.pop_front().map(|m| {
                            if let Some(n) = stop_at.as_mut().filter(|_| !stop_done) {
                                *n -= 1;
                            }
                            Received::Message(m)
                        }),
                    };
                    prop_assert_eq!(inbox.pop_or_register(&waker), want);
                }
                Op::Stop => {
                    let new = stop_at.is_none();
                    if new {
                        stop_at = Some(queue.len());
                    }
                    prop_assert_eq!(inbox.request_stop(), new);
                }
            }
        }
        prop_assert_eq!(mailbox.room.available_permits(), capacity - queue.len());
    }
}

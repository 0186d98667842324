//! Single flight: at most one call per key at a time in an isolate. The first caller for a key
//! (the leader) makes the call; callers that arrive while it runs (followers) wait for its
//! result instead of making their own. Used by the JWKS refresh (per issuer) and the cloud
//! exchange (per credential-cache key).
//!
//! Followers *poll* the leader's slot on their own timer ([`Fetch::sleep`]) instead of being
//! woken by the leader: a waker fired from the leader's request would run the follower's
//! continuation inside the leader's request context, and workerd refuses I/O across requests
//! ("Cannot perform I/O on behalf of a different request"). Only the result (plain data)
//! crosses. Every follower's wait is bounded by its own budget, and a drop guard clears the
//! key even if the leader's request is cancelled mid-call.
use crate::io::fetch::Fetch;
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;

/// How often a follower looks at the leader's slot.
pub const POLL_MS: u64 = 5;

/// The slot a leader fills with its result; followers hold clones of the `Rc`.
type Slot<T> = Rc<RefCell<Option<T>>>;

/// Calls under way, by key. `RefCell` (not a lock): Workers run one thread per isolate.
pub struct SingleFlight<T> {
    inflight: RefCell<HashMap<String, Slot<T>>>,
}

impl<T> Default for SingleFlight<T> {
    fn default() -> Self {
        SingleFlight { inflight: RefCell::new(HashMap::new()) }
    }
}

/// Why a follower came back without the leader's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abandoned {
    /// The leader was dropped (its request cancelled) before it had a result.
    LeaderGone,
    /// The follower's wait budget ran out.
    TimedOut,
}

/// Removes the key even if the leading request is dropped mid-call.
struct Guard<'a, T> {
    inflight: &'a RefCell<HashMap<String, Slot<T>>>,
    key: &'a str,
}

impl<T> Drop for Guard<'_, T> {
    fn drop(&mut self) {
        self.inflight.borrow_mut().remove(self.key);
    }
}

impl<T: Clone> SingleFlight<T> {
    /// The result of `call` for `key`: run here if no call for `key` is under way, else the
    /// running call's result, polled every [`POLL_MS`] on `timer` for at most `budget_ms`.
    pub async fn run<S: Fetch, Fut: Future<Output = T>>(
        &self,
        key: &str,
        timer: &S,
        budget_ms: u64,
        call: impl FnOnce() -> Fut,
    ) -> Result<T, Abandoned> {
        let waiting = self.inflight.borrow().get(key).cloned();
        if let Some(slot) = waiting {
            let mut waited = 0;
            loop {
                if let Some(result) = slot.borrow().as_ref() {
                    return Ok(result.clone());
                }
                if Rc::strong_count(&slot) == 1 {
                    return Err(Abandoned::LeaderGone);
                }
                if waited >= budget_ms {
                    return Err(Abandoned::TimedOut);
                }
                timer.sleep(POLL_MS).await;
                waited += POLL_MS;
            }
        }
        let slot: Slot<T> = Rc::new(RefCell::new(None));
        self.inflight.borrow_mut().insert(key.to_owned(), slot.clone());
        let _guard = Guard { inflight: &self.inflight, key };
        let result = call().await;
        *slot.borrow_mut() = Some(result.clone());
        Ok(result)
    }

    /// Is a call for `key` under way?
    pub fn in_flight(&self, key: &str) -> bool {
        self.inflight.borrow().contains_key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::fetch::{FetchError, HttpResponse};
    use futures_executor::block_on;
    use std::cell::Cell;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    /// A timer whose `sleep` yields to the other tasks once, counting the milliseconds asked.
    #[derive(Default)]
    struct Timer(Cell<u64>);

    impl Fetch for Timer {
        async fn get(&self, _: &str, _: usize, _: u64) -> Result<HttpResponse, FetchError> {
            Err(FetchError::Network)
        }
        async fn sleep(&self, ms: u64) {
            self.0.set(self.0.get() + ms);
            let mut yielded = false;
            std::future::poll_fn(|cx| {
                if yielded {
                    return Poll::Ready(());
                }
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            })
            .await
        }
    }

    /// A call that sleeps `ticks` times, counting how often it was made.
    async fn call(timer: &Timer, calls: &Cell<u32>, ticks: u32, result: Result<u32, &'static str>) -> Result<u32, &'static str> {
        calls.set(calls.get() + 1);
        for _ in 0..ticks {
            timer.sleep(1).await;
        }
        result
    }

    type Task<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

    /// Polls every task in turn (one thread, like an isolate) until all are done.
    fn run_all(mut tasks: Vec<Task<'_>>) {
        block_on(std::future::poll_fn(|cx| {
            tasks.retain_mut(|t| t.as_mut().poll(cx).is_pending());
            if tasks.is_empty() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }))
    }

    #[test]
    fn a_burst_makes_one_call_and_everyone_gets_its_result() {
        let (flight, timer, calls) = (SingleFlight::default(), Timer::default(), Cell::new(0));
        let results = RefCell::new(Vec::new());
        let tasks: Vec<Task> = (0..5)
            .map(|_| {
                Box::pin(async {
                    let r = flight.run("k", &timer, 1_000, || call(&timer, &calls, 3, Ok(7))).await;
                    results.borrow_mut().push(r);
                }) as Task
            })
            .collect();
        run_all(tasks);
        assert_eq!(calls.get(), 1, "one call for the whole burst");
        assert_eq!(*results.borrow(), vec![Ok(Ok(7)); 5]);
        assert!(!flight.in_flight("k"), "the key is cleared when the call ends");
        // The next miss is a new call.
        assert_eq!(block_on(flight.run("k", &timer, 1_000, || call(&timer, &calls, 0, Ok(8)))), Ok(Ok(8)));
        assert_eq!(calls.get(), 2);
    }

    #[test]
    fn errors_are_shared_too_and_keys_are_independent() {
        let (flight, timer, calls) = (SingleFlight::default(), Timer::default(), Cell::new(0));
        let results = RefCell::new(Vec::new());
        let task = |key: &'static str, result| {
            let (flight, timer, calls, results) = (&flight, &timer, &calls, &results);
            Box::pin(async move {
                let r = flight.run(key, timer, 1_000, || call(timer, calls, 2, result)).await;
                results.borrow_mut().push((key, r));
            }) as Task
        };
        run_all(vec![task("a", Err("down")), task("a", Ok(1)), task("b", Ok(2))]);
        assert_eq!(calls.get(), 2, "one call per key");
        let mut got = results.into_inner();
        got.sort_by_key(|(key, _)| *key);
        assert_eq!(got, vec![("a", Ok(Err("down"))), ("a", Ok(Err("down"))), ("b", Ok(Ok(2)))]);
    }

    #[test]
    fn a_follower_gives_up_after_its_budget() {
        let (flight, timer, calls) = (SingleFlight::default(), Timer::default(), Cell::new(0));
        let follower = RefCell::new(None);
        let tasks: Vec<Task> = vec![
            Box::pin(async {
                let _ = flight.run("k", &timer, 50, || call(&timer, &calls, 200, Ok(1))).await;
            }),
            Box::pin(async {
                let r = flight.run("k", &timer, 50, || call(&timer, &calls, 0, Ok(2))).await;
                *follower.borrow_mut() = Some((r, flight.in_flight("k")));
            }),
        ];
        run_all(tasks);
        assert_eq!(follower.into_inner(), Some((Err(Abandoned::TimedOut), true)), "gave up while the leader still ran");
        assert_eq!(calls.get(), 1, "the follower never made its own call");
    }

    #[test]
    fn a_follower_stops_waiting_when_the_leader_is_dropped() {
        struct Noop;
        impl Wake for Noop {
            fn wake(self: Arc<Self>) {}
        }
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let (flight, timer, calls) = (SingleFlight::default(), Timer::default(), Cell::new(0));
        let mut leader = Box::pin(flight.run("k", &timer, 1_000, || call(&timer, &calls, 1_000, Ok(1))));
        assert!(leader.as_mut().poll(&mut cx).is_pending());
        assert!(flight.in_flight("k"));
        let mut follower = Box::pin(flight.run("k", &timer, 1_000_000, || call(&timer, &calls, 0, Ok(2))));
        assert!(follower.as_mut().poll(&mut cx).is_pending(), "waits while the leader runs");
        drop(leader);
        assert!(!flight.in_flight("k"), "the drop guard cleared the key");
        assert_eq!(block_on(follower), Err(Abandoned::LeaderGone));
        assert_eq!(calls.get(), 1);
    }
}

//! The request's executor: the `fetch` export's future is polled here, and the JavaScript
//! promises it awaits ([`settled`]) wake it directly.
//!
//! wasm-bindgen's `future_to_promise` and `JsFuture` cost, per request, a task, a
//! `queueMicrotask` hop for every wake, and for every awaited promise two `Closure`s, each
//! registered with and later removed from a `FinalizationRegistry`. Here an awaited promise is
//! one call to `settle_on` (two arrow functions in JavaScript) and one persistent callback per
//! wasm instance; a settled promise polls its task at once, inside that callback, which already
//! runs as a microtask. Nothing else changes: a request is still one future polled on the
//! isolate's one thread.
//!
//! A trap (a panic: the build aborts on panic) while a task runs rejects that request's promise
//! (`reject`), so workerd answers it with a 500; wasm-bindgen's abort handler and the `worker`
//! crate's hook then run the next call on a fresh instance. Wakers from elsewhere (a timer, a
//! `JsFuture` in a dependency) queue the task and run it in a microtask, as wasm-bindgen does.
use js_sys::Promise;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use wasm_bindgen::prelude::*;

// An awaited promise calls `cb` (one persistent closure) with its slot id and how it settled;
// if that call traps, `reject` fails the request it belongs to. A promise that can no longer
// settle (its request torn down, workerd dropped it) is collected: the registry then reports it
// lost, so its slot and the task's waker are freed (wasm-bindgen's `JsFuture` gets the same from
// its closures' registry).
#[wasm_bindgen(inline_js = "const lost = new FinalizationRegistry(({ cb, id }) => { try { cb(id, undefined, 2); } catch {} });
const call = (cb, id, v, how, reject, token) => {
  lost.unregister(token);
  try { cb(id, v, how); } catch (e) { if (reject) reject(e); else throw e; }
};
export function settle_on(p, id, cb, reject) {
  const token = {};
  lost.register(p, { cb, id }, token);
  p.then((v) => call(cb, id, v, 1, reject, token), (e) => call(cb, id, e, 0, reject, token));
}
export function queue_run(f) { queueMicrotask(f); }")]
extern "C" {
    fn settle_on(p: &Promise, id: u32, cb: &JsValue, reject: &JsValue);
    fn queue_run(f: &JsValue);
}

/// How an awaited promise ended, as `settle_on` reports it (0: rejected).
const FULFILLED: u32 = 1;
const LOST: u32 = 2;

/// A future of the isolate, polled by [`run_queued`]; kept in `TASKS` while a [`TaskRef`] to it
/// lives.
struct Task {
    future: RefCell<Option<Pin<Box<dyn Future<Output = ()>>>>>,
    /// On the run queue (or being polled and woken again).
    queued: Cell<bool>,
    /// Rejects the request's promise if the instance traps while this task runs.
    reject: JsValue,
}

/// A task's waker: its index in `TASKS`, owned by this handle alone. The index goes back on the
/// free list when the last waker (or the queue's entry) drops, so a waker only ever reaches its
/// own task. An index is `Send` and `Sync`, so the waker is std's [`Wake`] over an `Arc`: no
/// `RawWaker` vtable, no unsafe code (the `Rc<Task>` stays on the isolate's one thread, in
/// `TASKS`).
struct TaskRef(u32);

impl Wake for TaskRef {
    fn wake(self: Arc<Self>) {
        wake(self);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        wake(self.clone());
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // Dropped outside the borrow: a task's last reference drops its future, whose own
        // `Settled`s and wakers reach `SLOTS` and `TASKS`.
        let task = TASKS.try_with(|t| t.borrow_mut().remove(self.0)).ok().flatten();
        drop(task);
    }
}

/// The live tasks, by index ([`TaskRef`]).
#[derive(Default)]
struct Tasks {
    tasks: Vec<Option<Rc<Task>>>,
    free: Vec<u32>,
}

impl Tasks {
    fn insert(&mut self, task: Rc<Task>) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.tasks[i as usize] = Some(task);
                i
            }
            None => {
                self.tasks.push(Some(task));
                (self.tasks.len() - 1) as u32
            }
        }
    }

    fn get(&self, i: u32) -> Option<Rc<Task>> {
        self.tasks.get(i as usize)?.clone()
    }

    fn remove(&mut self, i: u32) -> Option<Rc<Task>> {
        let task = self.tasks.get_mut(i as usize)?.take();
        if task.is_some() {
            self.free.push(i);
        }
        task
    }
}

/// What awaited promises settled with, by slot. A slot has two owners while its promise is
/// pending: the [`Settled`] future and the promise's one callback (`settle_on` calls `cb` exactly
/// once: settled, or lost when the promise is collected unsettled). Its index goes back on the
/// free list only once both have let go, so an index is never shared by two awaits and a
/// callback can only ever reach the await that registered it: a dropped request's promise that
/// settles later finds its slot abandoned, never another request's. No generation counter is
/// needed, so none can wrap.
///
/// The cost: a dropped await whose promise neither settles nor is ever collected keeps its slot
/// (one enum) for as long as the promise itself is kept alive.
struct Slots<T> {
    slots: Vec<SlotState<T>>,
    free: Vec<u32>,
}

enum SlotState<T> {
    Free,
    /// Both owners hold it: the promise is pending and the future waits (with its task's waker
    /// once polled).
    Waiting(Option<Waker>),
    /// The callback came; the future has not taken the result yet.
    Done(Result<T, T>),
    /// The future was dropped; the promise's callback has not come yet.
    Abandoned,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots { slots: Vec::new(), free: Vec::new() }
    }
}

impl<T> Slots<T> {
    /// A slot for a new await, owned by its future and its promise's callback.
    fn open(&mut self) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = SlotState::Waiting(None);
                i
            }
            None => {
                self.slots.push(SlotState::Waiting(None));
                (self.slots.len() - 1) as u32
            }
        }
    }

    fn free(&mut self, id: u32) -> SlotState<T> {
        self.free.push(id);
        std::mem::replace(&mut self.slots[id as usize], SlotState::Free)
    }

    /// The callback of `id`'s promise: stores `result` for the waiting future and returns its
    /// waker, or frees the slot if the future is gone. A callback for a slot it does not own
    /// (impossible: each promise calls back once) changes nothing.
    fn settle(&mut self, id: u32, result: Result<T, T>) -> Option<Waker> {
        match self.slots.get_mut(id as usize)? {
            SlotState::Waiting(w) => {
                let w = w.take();
                self.slots[id as usize] = SlotState::Done(result);
                w
            }
            SlotState::Abandoned => {
                self.free(id);
                None
            }
            SlotState::Free | SlotState::Done(_) => None,
        }
    }

    /// The future of `id` is polled: its result once the callback came (the future then lets
    /// go of the slot too, so it is free), else it waits with `waker`. `None` for a slot the
    /// future does not own (impossible: a future polls only its own, and only until it is ready).
    fn poll(&mut self, id: u32, waker: &Waker) -> Poll<Option<Result<T, T>>> {
        match self.slots.get_mut(id as usize) {
            Some(SlotState::Waiting(w)) => {
                if !w.as_ref().is_some_and(|w| w.will_wake(waker)) {
                    *w = Some(waker.clone());
                }
                Poll::Pending
            }
            Some(SlotState::Done(_)) => match self.free(id) {
                SlotState::Done(r) => Poll::Ready(Some(r)),
                _ => Poll::Ready(None),
            },
            _ => Poll::Ready(None),
        }
    }

    /// The future of `id` is dropped before taking its result. What the slot held (a waker, a
    /// result) is returned, to be dropped once the slots are no longer borrowed: dropping a
    /// task's last waker drops its future, whose own `Settled`s release their slots.
    fn release(&mut self, id: u32) -> SlotState<T> {
        match &self.slots[id as usize] {
            SlotState::Waiting(_) => std::mem::replace(&mut self.slots[id as usize], SlotState::Abandoned),
            SlotState::Done(_) => self.free(id),
            SlotState::Free | SlotState::Abandoned => SlotState::Free,
        }
    }
}

thread_local! {
    static QUEUE: RefCell<VecDeque<Arc<TaskRef>>> = const { RefCell::new(VecDeque::new()) };
    static TASKS: RefCell<Tasks> = RefCell::new(Tasks::default());
    /// Set while [`run_queued`] runs: a wake then only queues the task.
    static RUNNING: Cell<bool> = const { Cell::new(false) };
    /// A microtask that will run the queue is scheduled.
    static SCHEDULED: Cell<bool> = const { Cell::new(false) };
    /// The task being polled.
    static CURRENT: RefCell<Option<Rc<Task>>> = const { RefCell::new(None) };
    static SLOTS: RefCell<Slots<JsValue>> = RefCell::new(Slots::default());
    static ON_SETTLED: Closure<dyn FnMut(u32, JsValue, u32)> = Closure::new(on_settled);
    static ON_MICROTASK: Closure<dyn FnMut()> = Closure::new(|| {
        SCHEDULED.with(|s| s.set(false));
        run_queued();
    });
}

/// Starts `future` and polls it once before returning. `reject` is called with the exception if
/// the instance traps while the future runs.
fn spawn(future: impl Future<Output = ()> + 'static, reject: JsValue) {
    let task = Rc::new(Task { future: RefCell::new(Some(Box::pin(future))), queued: Cell::new(true), reject });
    let handle = Arc::new(TaskRef(TASKS.with(|t| t.borrow_mut().insert(task))));
    QUEUE.with(|q| q.borrow_mut().push_back(handle));
    run_queued();
}

/// `future` as a promise that resolves with its output (a request's `Response`, or `undefined`
/// for `waitUntil` work); the future starts at once, on this executor, and is polled once before
/// this returns.
pub fn promise(future: impl Future<Output = JsValue> + 'static) -> Promise {
    let mut future = Some(future);
    Promise::new(&mut |resolve, reject| {
        let Some(future) = future.take() else { return };
        spawn(
            async move {
                let _ = resolve.call1(&JsValue::UNDEFINED, &future.await);
            },
            reject.into(),
        );
    })
}

/// The result of a JavaScript promise, as a future.
pub fn settled(promise: &Promise) -> Settled {
    let id = SLOTS.with(|s| s.borrow_mut().open());
    ON_SETTLED.with(|cb| with_reject(|reject| settle_on(promise, id, cb.as_ref(), reject)));
    Settled { id: Some(id) }
}

/// Calls `f` with the reject function of the task being polled (`undefined` outside a task).
fn with_reject<T>(f: impl FnOnce(&JsValue) -> T) -> T {
    CURRENT.with(|t| match &*t.borrow() {
        Some(task) => f(&task.reject),
        None => f(&JsValue::UNDEFINED),
    })
}

/// An await of [`settled`]: owns its slot until it returns the result or is dropped.
pub struct Settled {
    id: Option<u32>,
}

impl Future for Settled {
    type Output = Result<JsValue, JsValue>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(id) = self.id else { return Poll::Ready(Err(JsValue::UNDEFINED)) };
        let r = SLOTS.with(|s| s.borrow_mut().poll(id, cx.waker()));
        if r.is_ready() {
            self.id = None;
        }
        r.map(|r| r.unwrap_or(Err(JsValue::UNDEFINED)))
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            let held = SLOTS.with(|s| s.borrow_mut().release(id));
            drop(held);
        }
    }
}

/// The slot table's size and how many of its slots are free (`/__test/exec`): at rest every
/// slot is free, and the table is as large as the most awaits ever pending at once.
#[cfg(feature = "test-routes")]
pub fn slot_counts() -> (usize, usize) {
    SLOTS.with(|s| {
        let s = s.borrow();
        (s.slots.len(), s.free.len())
    })
}

/// A promise awaited through [`settled`] settled: store its result and run the waiting task now.
/// A lost one only ends the await (its task's waker is dropped, not woken): its task can never go
/// on.
fn on_settled(id: u32, value: JsValue, how: u32) {
    let result = if how == FULFILLED { Ok(value) } else { Err(value) };
    let waker = SLOTS.with(|s| s.borrow_mut().settle(id, result));
    if how == LOST {
        drop(waker);
        return;
    }
    if let Some(w) = waker {
        let outer = RUNNING.with(|r| r.replace(true));
        w.wake();
        RUNNING.with(|r| r.set(outer));
        if !outer {
            run_queued();
        }
    }
}

/// Polls the queued tasks, each woken during this run once more at most (a task that keeps
/// waking itself yields to the event loop through a microtask).
fn run_queued() {
    if RUNNING.with(|r| r.replace(true)) {
        return;
    }
    let mut budget = QUEUE.with(|q| q.borrow().len()) * 2;
    while budget > 0 {
        budget -= 1;
        let Some(handle) = QUEUE.with(|q| q.borrow_mut().pop_front()) else { break };
        let Some(task) = TASKS.with(|t| t.borrow().get(handle.0)) else { continue };
        task.queued.set(false);
        let waker = Waker::from(handle);
        let mut cx = Context::from_waker(&waker);
        let previous = CURRENT.with(|c| c.replace(Some(task.clone())));
        let mut future = task.future.borrow_mut();
        if future.as_mut().is_some_and(|f| f.as_mut().poll(&mut cx).is_ready()) {
            *future = None;
        }
        drop(future);
        CURRENT.with(|c| *c.borrow_mut() = previous);
    }
    RUNNING.with(|r| r.set(false));
    if QUEUE.with(|q| !q.borrow().is_empty()) {
        schedule();
    }
}

fn schedule() {
    if !SCHEDULED.with(|s| s.replace(true)) {
        ON_MICROTASK.with(|f| queue_run(f.as_ref()));
    }
}

fn wake(handle: Arc<TaskRef>) {
    let Some(task) = TASKS.with(|t| t.borrow().get(handle.0)) else { return };
    if task.queued.replace(true) {
        return;
    }
    QUEUE.with(|q| q.borrow_mut().push_back(handle));
    if !RUNNING.with(|r| r.get()) {
        schedule();
    }
}

#[cfg(test)]
mod tests {
    use super::{SlotState, Slots};
    use std::task::Poll;

    fn noop() -> std::task::Waker {
        futures_util::task::noop_waker()
    }

    #[test]
    fn a_dropped_awaits_late_result_never_reaches_a_later_await_of_its_slot() {
        let mut s = Slots::<&str>::default();
        let stale = s.open();
        assert!(matches!(s.release(stale), SlotState::Waiting(None)));
        // Far more reuses than any generation counter of 12 bits could tell apart.
        for i in 0..10_000 {
            let id = s.open();
            assert_ne!(id, stale, "reuse {i}: the abandoned slot was handed out while its promise is pending");
            assert_eq!(s.poll(id, &noop()), Poll::Pending);
            assert!(s.settle(id, Ok("fresh")).is_some(), "the polled await's waker is handed back to wake");
            assert_eq!(s.poll(id, &noop()), Poll::Ready(Some(Ok("fresh"))));
        }
        let waiting = s.open();
        assert_eq!(s.poll(waiting, &noop()), Poll::Pending);
        assert!(s.settle(stale, Ok("stale")).is_none());
        assert_eq!(s.poll(waiting, &noop()), Poll::Pending, "the stale result reached another await");
        s.settle(waiting, Ok("fresh"));
        assert_eq!(s.poll(waiting, &noop()), Poll::Ready(Some(Ok("fresh"))));
        // The stale callback freed the abandoned slot: everything is free at rest.
        assert_eq!(s.free.len(), s.slots.len());
    }

    /// Random interleavings of the four events (open, callback, poll, drop), against a model
    /// where every await has a unique name: a result reaches exactly the await that opened it,
    /// and a slot is reused only once its future and its callback are both done with it.
    #[test]
    fn every_result_reaches_its_own_await_in_any_order_of_events() {
        let mut s = Slots::<u64>::default();
        // (slot, await name, future alive, callback pending)
        let mut live: Vec<(u32, u64, bool, bool)> = Vec::new();
        let mut next = 0u64;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        for _ in 0..200_000 {
            match rand(4) {
                0 => {
                    let id = s.open();
                    assert!(live.iter().all(|l| l.0 != id), "slot {id} handed out while still owned");
                    live.push((id, next, true, true));
                    next += 1;
                }
                1 if !live.is_empty() => {
                    // A callback: its promise settles with the name of the await that registered it.
                    let cands: Vec<usize> = (0..live.len()).filter(|&i| live[i].3).collect();
                    if cands.is_empty() {
                        continue;
                    }
                    let i = cands[rand(cands.len())];
                    s.settle(live[i].0, Ok(live[i].1));
                    live[i].3 = false;
                }
                2 if !live.is_empty() => {
                    let cands: Vec<usize> = (0..live.len()).filter(|&i| live[i].2).collect();
                    if cands.is_empty() {
                        continue;
                    }
                    let i = cands[rand(cands.len())];
                    match s.poll(live[i].0, &noop()) {
                        Poll::Pending => assert!(live[i].3, "a settled await still waits"),
                        Poll::Ready(r) => {
                            assert_eq!(r, Some(Ok(live[i].1)), "a result reached another await");
                            live[i].2 = false;
                        }
                    }
                }
                3 if !live.is_empty() => {
                    let cands: Vec<usize> = (0..live.len()).filter(|&i| live[i].2).collect();
                    if cands.is_empty() {
                        continue;
                    }
                    let i = cands[rand(cands.len())];
                    s.release(live[i].0);
                    live[i].2 = false;
                }
                _ => {}
            }
            live.retain(|l| l.2 || l.3);
        }
        for l in &live {
            if l.3 {
                s.settle(l.0, Ok(l.1));
            }
            if l.2 {
                s.release(l.0);
            }
        }
        assert_eq!(s.free.len(), s.slots.len(), "every slot free once every await and callback is done");
    }
}

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
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
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

/// A future of the isolate, polled by [`run_queued`].
struct Task {
    future: RefCell<Option<Pin<Box<dyn Future<Output = ()>>>>>,
    /// On the run queue (or being polled and woken again).
    queued: Cell<bool>,
    /// Rejects the request's promise if the instance traps while this task runs.
    reject: JsValue,
}

/// What awaited promises settled with, by slot. A slot's id carries a generation, so
/// a callback for a slot whose future was dropped (and the slot perhaps reused) is ignored.
#[derive(Default)]
struct Slots {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

struct Slot {
    generation: u32,
    state: SlotState,
}

enum SlotState {
    Free,
    Waiting(Option<Waker>),
    Done(Result<JsValue, JsValue>),
}

const INDEX_BITS: u32 = 20;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;

impl Slots {
    fn open(&mut self) -> u32 {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot { generation: 0, state: SlotState::Free });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.generation = (slot.generation + 1) & (u32::MAX >> INDEX_BITS);
        slot.state = SlotState::Waiting(None);
        index | (slot.generation << INDEX_BITS)
    }

    /// The slot of `id` if it is still that id's.
    fn get(&mut self, id: u32) -> Option<&mut SlotState> {
        let slot = self.slots.get_mut((id & INDEX_MASK) as usize)?;
        (slot.generation == id >> INDEX_BITS && !matches!(slot.state, SlotState::Free)).then_some(&mut slot.state)
    }

    /// Frees the slot of `id`. What it held (a waker, a result) is returned, to be dropped once
    /// the slots are no longer borrowed: dropping a task's last waker drops its future, whose
    /// own `Settled`s close their slots.
    fn close(&mut self, id: u32) -> Option<SlotState> {
        let state = self.get(id)?;
        let old = std::mem::replace(state, SlotState::Free);
        self.free.push(id & INDEX_MASK);
        Some(old)
    }
}

thread_local! {
    static QUEUE: RefCell<VecDeque<Rc<Task>>> = const { RefCell::new(VecDeque::new()) };
    /// Set while [`run_queued`] runs: a wake then only queues the task.
    static RUNNING: Cell<bool> = const { Cell::new(false) };
    /// A microtask that will run the queue is scheduled.
    static SCHEDULED: Cell<bool> = const { Cell::new(false) };
    /// The task being polled.
    static CURRENT: RefCell<Option<Rc<Task>>> = const { RefCell::new(None) };
    static SLOTS: RefCell<Slots> = RefCell::new(Slots::default());
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
    QUEUE.with(|q| q.borrow_mut().push_back(task));
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
    Settled { id }
}

/// Calls `f` with the reject function of the task being polled (`undefined` outside a task).
fn with_reject<T>(f: impl FnOnce(&JsValue) -> T) -> T {
    CURRENT.with(|t| match &*t.borrow() {
        Some(task) => f(&task.reject),
        None => f(&JsValue::UNDEFINED),
    })
}

pub struct Settled {
    id: u32,
}

impl Future for Settled {
    type Output = Result<JsValue, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.id;
        SLOTS.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(SlotState::Waiting(w)) = s.get(id) {
                if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    *w = Some(cx.waker().clone());
                }
                return Poll::Pending;
            }
            // Done (or polled again after it completed): the slot is freed either way.
            match s.close(id) {
                Some(SlotState::Done(r)) => Poll::Ready(r),
                _ => Poll::Ready(Err(JsValue::UNDEFINED)),
            }
        })
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        let held = SLOTS.with(|s| s.borrow_mut().close(self.id));
        drop(held);
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
/// A lost one only frees its slot (and with it the task's waker): its task can never go on.
fn on_settled(id: u32, value: JsValue, how: u32) {
    if how == LOST {
        let held = SLOTS.with(|s| s.borrow_mut().close(id));
        drop(held);
        return;
    }
    let waker = SLOTS.with(|s| {
        let mut s = s.borrow_mut();
        let state = s.get(id)?;
        let SlotState::Waiting(w) = state else { return None };
        let w = w.take();
        *state = SlotState::Done(if how == FULFILLED { Ok(value) } else { Err(value) });
        w
    });
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
        let Some(task) = QUEUE.with(|q| q.borrow_mut().pop_front()) else { break };
        task.queued.set(false);
        let waker = unsafe { Waker::from_raw(raw_waker(task.clone())) };
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

fn wake(task: Rc<Task>) {
    if task.queued.replace(true) {
        return;
    }
    QUEUE.with(|q| q.borrow_mut().push_back(task));
    if !RUNNING.with(|r| r.get()) {
        schedule();
    }
}

unsafe fn raw_waker(task: Rc<Task>) -> RawWaker {
    unsafe fn clone(p: *const ()) -> RawWaker {
        let task = std::mem::ManuallyDrop::new(Rc::from_raw(p as *const Task));
        raw_waker(Rc::clone(&task))
    }
    unsafe fn wake_owned(p: *const ()) {
        wake(Rc::from_raw(p as *const Task));
    }
    unsafe fn wake_by_ref(p: *const ()) {
        let task = std::mem::ManuallyDrop::new(Rc::from_raw(p as *const Task));
        wake(Rc::clone(&task));
    }
    unsafe fn drop_waker(p: *const ()) {
        drop(Rc::from_raw(p as *const Task));
    }
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake_owned, wake_by_ref, drop_waker);
    RawWaker::new(Rc::into_raw(task) as *const (), &VTABLE)
}

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

#[wasm_bindgen(inline_js = "export function settle_on(p, slot, cb, reject) {
  const on = (ok) => (v) => { try { cb(slot, v, ok); } catch (e) { if (reject) reject(e); else throw e; } };
  p.then(on(true), on(false));
}
export function queue_run(f) { queueMicrotask(f); }")]
extern "C" {
    fn settle_on(p: &Promise, slot: u32, cb: &JsValue, reject: &JsValue);
    fn queue_run(f: &JsValue);
}

/// A future of the isolate, polled by [`run_queued`].
struct Task {
    future: RefCell<Option<Pin<Box<dyn Future<Output = ()>>>>>,
    /// On the run queue (or being polled and woken again).
    queued: Cell<bool>,
    /// Rejects the request's promise if the instance traps while this task runs.
    reject: JsValue,
}

/// The awaited promises' results, by slot; a slot is reused only once its promise has settled.
#[derive(Default)]
struct Slots {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

enum Slot {
    Free,
    Waiting(Option<Waker>),
    Done(Result<JsValue, JsValue>),
    /// Its future was dropped before the promise settled; the slot is freed when it does.
    Abandoned,
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
    static ON_SETTLED: Closure<dyn FnMut(u32, JsValue, bool)> = Closure::new(on_settled);
    static ON_MICROTASK: Closure<dyn FnMut()> = Closure::new(|| {
        SCHEDULED.with(|s| s.set(false));
        run_queued();
    });
}

/// Starts `future` and polls it once before returning. `reject` is called with the exception if
/// the instance traps while the future runs.
pub fn spawn(future: impl Future<Output = ()> + 'static, reject: JsValue) {
    let task = Rc::new(Task { future: RefCell::new(Some(Box::pin(future))), queued: Cell::new(true), reject });
    QUEUE.with(|q| q.borrow_mut().push_back(task));
    run_queued();
}

/// A promise of `future`'s completion, for `waitUntil`.
pub fn promise(future: impl Future<Output = ()> + 'static) -> Promise {
    let mut future = Some(future);
    Promise::new(&mut |resolve, reject| {
        let Some(future) = future.take() else { return };
        spawn(
            async move {
                future.await;
                let _ = resolve.call0(&JsValue::UNDEFINED);
            },
            reject.into(),
        );
    })
}

/// The result of a JavaScript promise, as a future.
pub fn settled(promise: &Promise) -> Settled {
    let slot = SLOTS.with(|s| {
        let mut s = s.borrow_mut();
        match s.free.pop() {
            Some(i) => {
                s.slots[i as usize] = Slot::Waiting(None);
                i
            }
            None => {
                s.slots.push(Slot::Waiting(None));
                (s.slots.len() - 1) as u32
            }
        }
    });
    ON_SETTLED.with(|cb| {
        CURRENT.with(|t| match &*t.borrow() {
            Some(task) => settle_on(promise, slot, cb.as_ref(), &task.reject),
            None => settle_on(promise, slot, cb.as_ref(), &JsValue::UNDEFINED),
        })
    });
    Settled { slot, done: false }
}

pub struct Settled {
    slot: u32,
    done: bool,
}

impl Future for Settled {
    type Output = Result<JsValue, JsValue>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let i = self.slot as usize;
        let out = SLOTS.with(|s| {
            let mut s = s.borrow_mut();
            match &mut s.slots[i] {
                Slot::Waiting(w) => {
                    if !w.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                        *w = Some(cx.waker().clone());
                    }
                    None
                }
                slot @ Slot::Done(_) => {
                    let Slot::Done(r) = std::mem::replace(slot, Slot::Free) else { unreachable!() };
                    s.free.push(i as u32);
                    Some(r)
                }
                Slot::Free | Slot::Abandoned => Some(Err(JsValue::UNDEFINED)),
            }
        });
        match out {
            Some(r) => {
                self.done = true;
                Poll::Ready(r)
            }
            None => Poll::Pending,
        }
    }
}

impl Drop for Settled {
    fn drop(&mut self) {
        if !self.done {
            SLOTS.with(|s| {
                let mut s = s.borrow_mut();
                let i = self.slot as usize;
                match s.slots[i] {
                    Slot::Done(_) => {
                        s.slots[i] = Slot::Free;
                        s.free.push(self.slot);
                    }
                    _ => s.slots[i] = Slot::Abandoned,
                }
            });
        }
    }
}

/// A promise awaited through [`settled`] settled: store its result and run its task now.
fn on_settled(slot: u32, value: JsValue, ok: bool) {
    let waker = SLOTS.with(|s| {
        let mut s = s.borrow_mut();
        let i = slot as usize;
        match std::mem::replace(&mut s.slots[i], Slot::Free) {
            Slot::Waiting(w) => {
                s.slots[i] = Slot::Done(if ok { Ok(value) } else { Err(value) });
                w
            }
            _ => {
                s.free.push(slot);
                None
            }
        }
    });
    if let Some(w) = waker {
        RUNNING.with(|r| r.set(true));
        w.wake();
        RUNNING.with(|r| r.set(false));
        run_queued();
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

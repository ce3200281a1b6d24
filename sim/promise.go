package sim

import (
	"errors"
	"time"
)

// Unit is the value of a promise that carries no value, like OCaml's unit.
type Unit = struct{}

// ErrCanceled is the rejection of a cancelled promise, Lwt's Canceled.
var ErrCanceled = errors.New("canceled")

// State is where a promise stands.
type State uint8

const (
	Pending State = iota
	Fulfilled
	Rejected
)

func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Fulfilled:
		return "fulfilled"
	}
	return "rejected"
}

// Promise is a value of type T that becomes available later, with Lwt's
// semantics:
//
//   - a promise is resolved once, fulfilled with a value or rejected with an
//     error; resolving it runs its callbacks at once, in the order they were
//     added, before the resolver returns (LW1: nothing preempts them);
//   - Bind on a rejected promise skips its function and passes the same
//     rejection on (LW2); an error is raised by returning Fail;
//   - cancelling a pending promise is forwarded to the pending promise it
//     waits on; promises from Wait cannot be cancelled, those from Task and
//     Sleep can (LW4).
//
// Where Lwt would turn an OCaml exception raised inside a callback into a
// rejection, Go code returns Fail: a panic inside a callback is a bug in the
// caller and is not recovered.
type Promise[T any] struct {
	// A pending promise needs its callbacks and where to forward Cancel;
	// a resolved one, its state and outcome. As the two are never needed
	// at once, they share fields, so that a Promise[Unit] takes 32 bytes.

	value T

	// first is, while p is pending, the callback to run when p is
	// resolved (nil if none), kept inline as most promises have one; a
	// promise with several keeps a *callbacks. Once p is resolved, it is
	// a settled holding p's state.
	first callback[T]

	// cancelOrErr is, while p is pending, the canceler that Cancel
	// forwards to, or cancelSelf for a task (nil if p cannot be
	// cancelled) and, once p is rejected, its error.
	cancelOrErr any
}

// callback is what a pending promise runs once it is resolved, with the
// promise. Callbacks are values of small types rather than closures so
// that Bind, Map and TryBind allocate one node each, the node being both
// the callback and the promise it resolves, and a promise that follows
// another is its own callback.
type callback[T any] interface{ resolved(p *Promise[T]) }

// settled is what a resolved promise keeps in place of its first
// callback: its state, Fulfilled or Rejected. It is never run.
type settled[T any] State

func (settled[T]) resolved(*Promise[T]) {}

// callbacks are the callbacks of a promise that has more than one, in the
// order they were added, run as its first callback.
type callbacks[T any] []callback[T]

func (cs *callbacks[T]) resolved(p *Promise[T]) {
	for _, cb := range *cs {
		cb.resolved(p)
	}
}

// canceler is where a pending promise forwards Cancel: the promise it
// waits on, or a function.
type canceler interface{ Cancel() }

// thunk is a callback that ignores the promise.
type thunk[T any] func()

func (f thunk[T]) resolved(*Promise[T]) { f() }

// cancelFunc is a canceler that calls a function.
type cancelFunc func()

func (f cancelFunc) Cancel() { f() }

// cancelSelf marks a task, which Cancel rejects with ErrCanceled. It is
// not a pointer to the task, so that making one writes no pointer.
type cancelSelf struct{}

// State reports whether p is pending, fulfilled or rejected.
func (p *Promise[T]) State() State {
	if st, ok := p.first.(settled[T]); ok {
		return State(st)
	}
	return Pending
}

// IsPending reports whether p is still unresolved.
func (p *Promise[T]) IsPending() bool {
	_, resolved := p.first.(settled[T])
	return !resolved
}

// Result returns p's value and error. Both are zero while p is pending.
func (p *Promise[T]) Result() (T, error) { return p.value, p.err() }

// err is p's rejection, or nil if p is not rejected.
func (p *Promise[T]) err() error {
	if p.State() != Rejected {
		return nil
	}
	err, _ := p.cancelOrErr.(error)
	return err
}

// Cancel asks p to cancel itself, as Lwt.cancel does. A pending task is
// rejected with ErrCanceled; a promise that waits on another forwards the
// request to it; a resolved promise, or one made by Wait, ignores it.
func (p *Promise[T]) Cancel() {
	if p.State() != Pending {
		return
	}
	switch c := p.cancelOrErr.(type) {
	case cancelSelf:
		p.reject(ErrCanceled)
	case canceler:
		c.Cancel()
	}
}

// on runs cb when p is resolved, or at once if it already is.
func (p *Promise[T]) on(cb callback[T]) {
	switch {
	case p.State() != Pending:
		cb.resolved(p)
	case p.first == nil:
		p.first = cb
	default:
		if cs, ok := p.first.(*callbacks[T]); ok {
			*cs = append(*cs, cb)
		} else {
			p.first = &callbacks[T]{p.first, cb}
		}
	}
}

func (p *Promise[T]) settle(st State, v T, err error) {
	if p.State() != Pending {
		panic("sim: promise resolved twice")
	}
	first := p.first
	p.first, p.value, p.cancelOrErr = settled[T](st), v, nil
	if err != nil {
		p.cancelOrErr = err
	}
	if first != nil {
		first.resolved(p)
	}
}

func (p *Promise[T]) fulfil(v T) { p.settle(Fulfilled, v, nil) }

func (p *Promise[T]) reject(err error) {
	var zero T
	p.settle(Rejected, zero, err)
}

// follow makes p, pending, resolve as q does, and forwards p's
// cancellation to q while q is pending.
func (p *Promise[T]) follow(q *Promise[T]) {
	if q.State() != Pending {
		p.settle(q.State(), q.value, q.err())
		return
	}
	p.cancelOrErr = q
	q.on(p)
}

// resolved makes p, which follows src, resolve as src did.
func (p *Promise[T]) resolved(src *Promise[T]) {
	p.settle(src.State(), src.value, src.err())
}

// Resolver resolves the promise it was made with, as Lwt's wakener does.
type Resolver[T any] struct{ p *Promise[T] }

// Resolve fulfils the promise with v. Resolving a promise twice is a bug
// and panics, as Lwt.wakeup raises Invalid_argument; but resolving a
// promise that was cancelled (rejected with ErrCanceled) does nothing, as
// in Lwt.
func (r Resolver[T]) Resolve(v T) {
	if !r.p.canceled() {
		r.p.fulfil(v)
	}
}

// Reject rejects the promise with err, or does nothing if it was
// cancelled.
func (r Resolver[T]) Reject(err error) {
	if !r.p.canceled() {
		r.p.reject(err)
	}
}

// canceled reports whether p was rejected with ErrCanceled.
func (p *Promise[T]) canceled() bool {
	return p.State() == Rejected && errors.Is(p.err(), ErrCanceled)
}

// Promise returns the promise r resolves.
func (r Resolver[T]) Promise() *Promise[T] { return r.p }

// Wait returns a pending promise that cannot be cancelled, and its
// resolver: Lwt.wait.
func Wait[T any]() (*Promise[T], Resolver[T]) {
	p := &Promise[T]{}
	return p, Resolver[T]{p}
}

// Task returns a pending promise that Cancel rejects with ErrCanceled, and
// its resolver: Lwt.task.
func Task[T any]() (*Promise[T], Resolver[T]) {
	p := &Promise[T]{cancelOrErr: cancelSelf{}}
	return p, Resolver[T]{p}
}

// Return is a promise already fulfilled with v.
func Return[T any](v T) *Promise[T] {
	return &Promise[T]{value: v, first: settled[T](Fulfilled)}
}

// Done is the fulfilled unit promise, Lwt.return_unit. Every call returns
// the same promise: a resolved promise never changes.
func Done() *Promise[Unit] { return done }

var done = &Promise[Unit]{first: settled[Unit](Fulfilled)}

// Fail is a promise already rejected with err.
func Fail[T any](err error) *Promise[T] {
	p := &Promise[T]{first: settled[T](Rejected)}
	if err != nil {
		p.cancelOrErr = err
	}
	return p
}

// Bind waits for p and then continues with f's promise (Lwt's >>=). If p is
// already fulfilled, f runs at once. If p is rejected, f never runs and the
// result is rejected with the same error (LW2).
func Bind[T, U any](p *Promise[T], f func(T) *Promise[U]) *Promise[U] {
	switch p.State() {
	case Fulfilled:
		return f(p.value)
	case Rejected:
		return Fail[U](p.err())
	}
	n := &bindNode[T, U]{f: f}
	n.out.cancelOrErr = p
	p.on(n)
	return &n.out
}

// bindNode is a pending Bind: its result, and the function to continue
// with, dropped once called.
type bindNode[T, U any] struct {
	out Promise[U]
	f   func(T) *Promise[U]
}

func (n *bindNode[T, U]) resolved(p *Promise[T]) {
	if p.State() == Rejected {
		n.out.reject(p.err())
		return
	}
	f := n.f
	n.f = nil
	n.out.follow(f(p.value))
}

// Map waits for p and applies f to its value (Lwt's >|=). Rejections pass
// through untouched.
func Map[T, U any](p *Promise[T], f func(T) U) *Promise[U] {
	switch p.State() {
	case Fulfilled:
		return Return(f(p.value))
	case Rejected:
		return Fail[U](p.err())
	}
	n := &mapNode[T, U]{f: f}
	n.out.cancelOrErr = p
	p.on(n)
	return &n.out
}

// mapNode is a pending Map: its result, and the function to apply,
// dropped once called.
type mapNode[T, U any] struct {
	out Promise[U]
	f   func(T) U
}

func (n *mapNode[T, U]) resolved(p *Promise[T]) {
	if p.State() == Rejected {
		n.out.reject(p.err())
		return
	}
	f := n.f
	n.f = nil
	n.out.fulfil(f(p.value))
}

// MapErr waits for p and applies f to its value, as Map does, but f may
// fail: a non-nil error rejects the result with it. It is Bind with a
// function that returns Return or Fail, without the promise those make.
func MapErr[T, U any](p *Promise[T], f func(T) (U, error)) *Promise[U] {
	switch p.State() {
	case Fulfilled:
		v, err := f(p.value)
		if err != nil {
			return Fail[U](err)
		}
		return Return(v)
	case Rejected:
		return Fail[U](p.err())
	}
	n := &mapErrNode[T, U]{f: f}
	n.out.cancelOrErr = p
	p.on(n)
	return &n.out
}

// mapErrNode is a pending MapErr: its result, and the function to apply,
// dropped once called.
type mapErrNode[T, U any] struct {
	out Promise[U]
	f   func(T) (U, error)
}

func (n *mapErrNode[T, U]) resolved(p *Promise[T]) {
	if p.State() == Rejected {
		n.out.reject(p.err())
		return
	}
	f := n.f
	n.f = nil
	v, err := f(p.value)
	if err != nil {
		n.out.reject(err)
		return
	}
	n.out.fulfil(v)
}

// TryBind runs f and continues with ok on its value or ko on its error
// (Lwt.try_bind).
func TryBind[T, U any](f func() *Promise[T], ok func(T) *Promise[U], ko func(error) *Promise[U]) *Promise[U] {
	p := f()
	switch p.State() {
	case Fulfilled:
		return ok(p.value)
	case Rejected:
		return ko(p.err())
	}
	n := &tryBindNode[T, U]{ok: ok, ko: ko}
	n.out.cancelOrErr = p
	p.on(n)
	return &n.out
}

// tryBindNode is a pending TryBind: its result, and the two ways to go
// on, dropped once one is taken.
type tryBindNode[T, U any] struct {
	out Promise[U]
	ok  func(T) *Promise[U]
	ko  func(error) *Promise[U]
}

func (n *tryBindNode[T, U]) resolved(p *Promise[T]) {
	ok, ko := n.ok, n.ko
	n.ok, n.ko = nil, nil
	if p.State() == Rejected {
		n.out.follow(ko(p.err()))
		return
	}
	n.out.follow(ok(p.value))
}

// Catch runs f and, if its promise is rejected, continues with h on the
// error (Lwt.catch).
func Catch[T any](f func() *Promise[T], h func(error) *Promise[T]) *Promise[T] {
	return TryBind(f, Return[T], h)
}

// Finalize runs f, then cleanup once f's promise is resolved either way,
// cancellation included (LW3). If cleanup succeeds, f's outcome is passed
// on; if cleanup fails, cleanup's error wins.
//
// It behaves as TryBind(f, ok, ko) where ok maps cleanup's promise to f's
// value and ko binds it to f's rejection, but a pending Finalize is one
// node rather than a chain of five closures and promises.
func Finalize[T any](f func() *Promise[T], cleanup func() *Promise[Unit]) *Promise[T] {
	p := f()
	n := &finalizeNode[T]{cleanup: cleanup}
	if p.State() != Pending {
		n.resolved(p)
		return &n.out
	}
	n.out.cancelOrErr = p
	p.on(n)
	return &n.out
}

// finalizeNode is a pending Finalize: its result, the cleanup until it is
// called, then f's outcome until cleanup's promise is resolved.
type finalizeNode[T any] struct {
	out     Promise[T]
	cleanup func() *Promise[Unit]
	state   State // f's outcome, kept while cleanup runs
	value   T
	err     error
}

// resolved runs cleanup once f's promise p is resolved, and resolves the
// result as soon as cleanup's promise is: at once, or later.
func (n *finalizeNode[T]) resolved(p *Promise[T]) {
	cleanup := n.cleanup
	n.cleanup = nil
	c := cleanup()
	if c.State() != Pending {
		n.finish(p.State(), p.value, p.err(), c)
		return
	}
	n.state, n.value, n.err = p.State(), p.value, p.err()
	n.out.cancelOrErr = c
	c.on((*finalizeCleanup[T])(n))
}

// finish resolves the result with f's outcome, or with cleanup's
// rejection.
func (n *finalizeNode[T]) finish(st State, v T, err error, c *Promise[Unit]) {
	if c.State() == Rejected {
		var zero T
		st, v, err = Rejected, zero, c.err()
	}
	n.out.settle(st, v, err)
}

// finalizeCleanup is a finalizeNode waiting for cleanup's promise.
type finalizeCleanup[T any] finalizeNode[T]

func (n *finalizeCleanup[T]) resolved(c *Promise[Unit]) {
	var zero T
	st, v, err := n.state, n.value, n.err
	n.value, n.err = zero, nil
	(*finalizeNode[T])(n).finish(st, v, err, c)
}

// On calls fn with p's outcome once p is resolved (Lwt.on_any).
func On[T any](p *Promise[T], fn func(T, error)) {
	p.on(onAny[T](fn))
}

// onAny is the callback of On.
type onAny[T any] func(T, error)

func (f onAny[T]) resolved(p *Promise[T]) { f(p.value, p.err()) }

// OnCancel calls fn if p is rejected with ErrCanceled (Lwt.on_cancel).
func OnCancel[T any](p *Promise[T], fn func()) {
	p.on(onCancel[T](fn))
}

// onCancel is the callback of OnCancel.
type onCancel[T any] func()

func (f onCancel[T]) resolved(p *Promise[T]) {
	if p.State() == Rejected && errors.Is(p.err(), ErrCanceled) {
		f()
	}
}

// Ignore forgets p's value, keeping its outcome.
func Ignore[T any](p *Promise[T]) *Promise[Unit] {
	return Map(p, func(T) Unit { return Unit{} })
}

// Choose resolves as the first of ps to resolve and leaves the others
// running (LW4). Cancelling it while pending cancels all of ps, as in Lwt.
// Where Lwt picks at random among promises already resolved, Choose takes
// the first in argument order, so that runs stay deterministic.
func Choose[T any](ps ...*Promise[T]) *Promise[T] {
	return race(false, ps)
}

// Pick is Choose, but cancels every other promise once one resolves.
func Pick[T any](ps ...*Promise[T]) *Promise[T] {
	return race(true, ps)
}

func race[T any](cancelLosers bool, ps []*Promise[T]) *Promise[T] {
	cancelAll := func() {
		for _, q := range ps {
			q.Cancel()
		}
	}
	for _, q := range ps {
		if q.State() != Pending {
			if cancelLosers {
				cancelAll()
			}
			return q
		}
	}

	out := &Promise[T]{cancelOrErr: cancelFunc(cancelAll)}
	for _, q := range ps {
		q.on(thunk[T](func() {
			if out.State() != Pending {
				return
			}
			out.settle(q.State(), q.value, q.err())
			if cancelLosers {
				cancelAll()
			}
		}))
	}
	return out
}

// Join waits for every promise in ps. It is rejected with the first
// rejection in argument order once all are resolved (Lwt.join).
func Join(ps ...*Promise[Unit]) *Promise[Unit] {
	out := &Promise[Unit]{}
	out.cancelOrErr = cancelFunc(func() {
		for _, q := range ps {
			q.Cancel()
		}
	})
	left := len(ps)
	finish := func() {
		for _, q := range ps {
			if q.State() == Rejected {
				out.reject(q.err())
				return
			}
		}
		out.fulfil(Unit{})
	}
	if left == 0 {
		finish()
		return out
	}
	for _, q := range ps {
		q.on(thunk[Unit](func() {
			left--
			if left == 0 {
				finish()
			}
		}))
	}
	return out
}

// Sleep returns a promise fulfilled d from now. It can be cancelled. It
// allocates the promise alone: the event that fulfils it holds the
// promise itself rather than a closure.
func (s *Sim) Sleep(d time.Duration) *Promise[Unit] {
	p, _ := Task[Unit]()
	s.schedule(s.now+d, nil, p)
	return p
}

// Pause returns a promise fulfilled on the next turn of the loop: after
// every event already scheduled for the current instant (LW4).
func (s *Sim) Pause() *Promise[Unit] { return s.Sleep(0) }

// Async runs f for its effects (Lwt.async). If f's promise is rejected, now
// or later, the error goes to the async exception hook (LW5).
func (s *Sim) Async(f func() *Promise[Unit]) {
	f().on((*asyncWatch)(s))
}

// asyncWatch is the callback of Async: the simulator, whose hook gets the
// promise's rejection.
type asyncWatch Sim

func (w *asyncWatch) resolved(p *Promise[Unit]) {
	if p.State() == Rejected {
		(*Sim)(w).asyncHook(p.err())
	}
}

// SetAsyncExceptionHook replaces the hook that receives errors escaping
// Async. The default hook stops the run with a Fatal outcome, as Lwt's
// default prints the error and exits the process.
func (s *Sim) SetAsyncExceptionHook(h func(error)) {
	if h == nil {
		h = s.defaultAsyncHook
	}
	s.asyncHook = h
}

func (s *Sim) defaultAsyncHook(err error) {
	if s.fatal == nil {
		s.fatal = err
	}
	s.stopped = true
}

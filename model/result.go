package model

// Result is OCaml's result type: a value, or an error. Functions that the
// real system writes as returning a result rather than raising (run_job,
// a remote job's result) return a promise of a Result.
type Result[T any] struct {
	Value T
	Err   error
}

// Ok is a successful Result.
func Ok[T any](v T) Result[T] { return Result[T]{Value: v} }

// Error is a failed Result.
func Error[T any](err error) Result[T] { return Result[T]{Err: err} }

// Package errjoin splits joined errors, for the config loader and the CLI
// (one problem per line).
package errjoin

// Split returns the errors joined in err (by [errors.Join] or any error
// with an Unwrap() []error method), err alone when it joins nothing, and
// nil for a nil err. Only the top level is split: a joined error inside a
// joined error stays whole.
func Split(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Package examples holds sgseq's example programs (one per directory) and
// the commented configuration file sgseq.yaml, embedded here for
// "sgseq config init".
package examples

import _ "embed"

// StarterConfig is examples/sgseq.yaml: every monitor config key with its
// default and a comment.
//
//go:embed sgseq.yaml
var StarterConfig []byte

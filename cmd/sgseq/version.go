package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sgseq/sgseq/client"
	"github.com/sgseq/sgseq/monitor/store"
)

// versionInfo is what "sgseq version" prints ("-o json": these keys).
type versionInfo struct {
	// Version is the module version of a "go install …@vX" build, else
	// client.Version.
	Version string `json:"version"`
	// Commit is the VCS revision the binary was built from ("" when not
	// built in a checkout), Modified whether the tree had changes.
	Commit   string `json:"commit"`
	Modified bool   `json:"modified"`
	// CommitTime is the commit's time (RFC 3339), "" when unknown.
	CommitTime string `json:"commit_time"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"go_version"`
	// StoreSchema is the newest SQLite store schema version this binary
	// knows (and migrates a store to).
	StoreSchema int `json:"store_schema"`
}

// readVersion collects versionInfo from the build info (as "go version -m"
// shows it).
func readVersion() versionInfo {
	v := versionInfo{Version: client.Version, GoVersion: runtime.Version(), StoreSchema: store.SchemaVersion()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
		v.Version = strings.TrimPrefix(mv, "v")
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String renders v as "sgseq --version" prints it.
func (v versionInfo) String() string {
	commit := v.Commit
	switch {
	case commit == "":
		commit = "unknown (built without VCS information: outside a git checkout, or -buildvcs=false)"
	case v.Modified:
		commit += " (modified)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "sgseq %s\n", v.Version)
	fmt.Fprintf(&b, "  commit:        %s\n", commit)
	if v.CommitTime != "" {
		fmt.Fprintf(&b, "  commit time:   %s\n", v.CommitTime)
	}
	fmt.Fprintf(&b, "  go:            %s\n", v.GoVersion)
	fmt.Fprintf(&b, "  store schema:  %d\n", v.StoreSchema)
	return b.String()
}

func newVersionCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version and store schema version",
		Long: `Print sgseq's version, the commit it was built from (from the Go build
information, as "go version -m" shows it), the Go version and the store
schema version this binary migrates a store to. "sgseq --version" prints
the same. -o json prints {"version","commit","modified","commit_time",
"go_version","store_schema"}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := readVersion()
			switch format {
			case "text":
				_, err := fmt.Fprint(cmd.OutOrStdout(), v.String())
				return err
			case outputJSON:
				return writeJSON(cmd.OutOrStdout(), v)
			}
			return cliFormatError(format, "text or json")
		},
	}
	cmd.Flags().StringVarP(&format, "output", "o", "text", "output format: text or json")
	return cmd
}

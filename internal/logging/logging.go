// Package logging holds the log settings shared by the monitor's config
// ("log.level") and the CLI's --log-level flag, so that both accept the
// same names.
package logging

import (
	"fmt"
	"log/slog"
	"strings"
)

// ParseLevel parses a log level name: debug, info, warn (or warning) or
// error, in any case. The empty string is info. The error quotes the
// value and lists the accepted names; callers prefix the field or flag.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		return slog.LevelInfo, nil
	case "debug":
		return slog.LevelDebug, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q: want debug, info, warn or error", s)
}

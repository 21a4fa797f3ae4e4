package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/sgseq/sgseq/examples"
	"github.com/sgseq/sgseq/internal/errjoin"
)

// newConfigCmd returns "sgseq config", the parent of the config commands.
func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with the monitor's configuration file",
		Long: `Work with the monitor's configuration file. Every command that reads it
finds it at --config, else $SGSEQ_CONFIG, else
$XDG_CONFIG_HOME/sgseq/sgseq.yaml, else ~/.config/sgseq/sgseq.yaml (the
first that exists of these two); without one, the defaults and the
environment apply.`,
	}
	cmd.AddCommand(newConfigValidateCmd(), newConfigShowCmd(), newConfigInitCmd())
	return cmd
}

// cliConfigPath returns the config file to load: flagValue (--config) when
// set, else $SGSEQ_CONFIG, else the first of
// $XDG_CONFIG_HOME/sgseq/sgseq.yaml and ~/.config/sgseq/sgseq.yaml that
// exists, else "" (defaults and environment).
func cliConfigPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if p := os.Getenv(envConfig); p != "" {
		return p
	}
	for _, p := range cliConfigCandidates() {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// cliConfigCandidates lists the default config locations, in order.
func cliConfigCandidates() []string {
	var out []string
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		out = append(out, filepath.Join(x, "sgseq", "sgseq.yaml"))
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		p := filepath.Join(home, ".config", "sgseq", "sgseq.yaml")
		if len(out) == 0 || out[0] != p {
			out = append(out, p)
		}
	}
	return out
}

func newConfigValidateCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a monitor config file: prints OK, or every problem as file:line: field: message (exit 2)",
		Long: `Load the config file (found as "sgseq config --help" says; without one, the
defaults and environment), expand ${ENV} references, apply the environment
overrides and check every field. Prints "OK" and exits 0, or prints each
problem on its own line as "file:line: field: message" and exits 2.
Secrets are never printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, _, err := monLoad(cmd, configPath, true)
			if err != nil {
				for _, e := range errjoin.Split(err) {
					fmt.Fprintln(cmd.ErrOrStderr(), e)
				}
				return &exitError{code: exitFailed, err: errors.New("config is not valid")}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "OK")
			return nil
		},
	}
	monAddConfigFlag(cmd, &configPath)
	return cmd
}

func newConfigShowCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration (file, defaults, environment, flags) with secrets redacted",
		Long: `Print, as YAML, the configuration the monitor commands would run with: the
config file (found as "sgseq config --help" says) or the defaults, with
${ENV} expanded, the environment overrides and the global flags
(--api-key-file, --base-url, --region, --log-level, --log-format) applied.
The API key, Slack webhook URL and bot token print as REDACTED. The first
line names the file read. A config with problems prints them as
"sgseq config validate" does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, _, err := monLoad(cmd, configPath, false)
			if err != nil {
				for _, e := range errjoin.Split(err) {
					fmt.Fprintln(cmd.ErrOrStderr(), e)
				}
				return &exitError{code: exitFailed, err: errors.New("config is not valid")}
			}
			var b bytes.Buffer
			enc := yaml.NewEncoder(&b)
			enc.SetIndent(2)
			if err := enc.Encode(&cfg); err != nil {
				return fmt.Errorf("config show: %w", err)
			}
			if err := enc.Close(); err != nil {
				return fmt.Errorf("config show: %w", err)
			}
			src := "# no config file: defaults and environment"
			if p := cliConfigPath(configPath); p != "" {
				src = "# config file: " + p + " (with the environment and flags applied)"
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n%s", src, b.String())
			return err
		},
	}
	monAddConfigFlag(cmd, &configPath)
	return cmd
}

func newConfigInitCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Write a commented starter config file (never overwrites one)",
		Long: `Write a starter config file, every key with its default and a comment (the
same as examples/sgseq.yaml), to --config, else $SGSEQ_CONFIG, else
$XDG_CONFIG_HOME/sgseq/sgseq.yaml, else ~/.config/sgseq/sgseq.yaml, where
the other commands find it without --config. The directory is created if
needed; an existing file is never overwritten. The API key stays in the
environment (api_key: ${SENDGRID_API_KEY}); the file is created readable by
its owner only.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path := configPath
			if path == "" {
				path = os.Getenv(envConfig)
			}
			if path == "" {
				c := cliConfigCandidates()
				if len(c) == 0 {
					return errors.New("config init: no home directory and no $XDG_CONFIG_HOME: pass --config FILE")
				}
				path = c[0]
			}
			if fi, err := os.Stat(path); err == nil {
				if fi.IsDir() {
					return fmt.Errorf("config init: %s is a directory; give the path of a file", path)
				}
				return fmt.Errorf("config init: %s already exists; not overwriting it (see it with: sgseq config show --config %s)", path, path)
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return fmt.Errorf("config init: %w", err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("config init: %s already exists; not overwriting it", path)
			}
			if err != nil {
				return fmt.Errorf("config init: %w", err)
			}
			if _, err := f.Write(examples.StarterConfig); err != nil {
				f.Close()
				os.Remove(path)
				return fmt.Errorf("config init: write %s: %w", path, err)
			}
			if err := f.Close(); err != nil {
				os.Remove(path)
				return fmt.Errorf("config init: write %s: %w", path, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\ncheck it with: sgseq config validate --config %s\n", path, path)
			return nil
		},
	}
	cmd.Flags().StringVarP(&configPath, "config", "c", "", "file to write (default: $"+envConfig+", else $XDG_CONFIG_HOME/sgseq/sgseq.yaml or ~/.config/sgseq/sgseq.yaml)")
	return cmd
}

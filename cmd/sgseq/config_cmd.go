package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
)

// newConfigCmd returns "sgseq config", the parent of the config commands.
func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with the monitor's configuration file",
	}
	cmd.AddCommand(newConfigValidateCmd())
	return cmd
}

func newConfigValidateCmd() *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a monitor config file: prints OK, or every problem as file:line: field: message (exit 2)",
		Long: `Load the config file (or, without --config, the defaults and environment),
expand ${ENV} references, apply the environment overrides and check every
field. Prints "OK" and exits 0, or prints each problem on its own line as
"file:line: field: message" and exits 2. Secrets are never printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, _, err := monLoad(cmd, configPath, true)
			if err != nil {
				var list []error
				if j, ok := err.(interface{ Unwrap() []error }); ok {
					list = j.Unwrap()
				} else {
					list = []error{err}
				}
				for _, e := range list {
					fmt.Fprintln(cmd.ErrOrStderr(), e)
				}
				return &exitError{code: 2, err: errors.New("config is not valid")}
			}
			fmt.Fprintln(cmd.OutOrStdout(), "OK")
			return nil
		},
	}
	monAddConfigFlag(cmd, &configPath)
	return cmd
}

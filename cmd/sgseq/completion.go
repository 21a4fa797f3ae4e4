package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// newCompletionCmd returns "sgseq completion bash|zsh|fish|powershell".
func newCompletionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script for bash, zsh, fish or PowerShell",
		Long: `Print a completion script that completes sgseq's commands, flags, the values
of -o and --region, and account names from the store (sgseq history
ACCOUNT, sgseq scores --subuser).

  bash:  source <(sgseq completion bash)            # in ~/.bashrc (needs bash-completion)
  zsh:   sgseq completion zsh > "${fpath[1]}/_sgseq"  # then start a new shell
  fish:  sgseq completion fish > ~/.config/fish/completions/sgseq.fish
  PowerShell: sgseq completion powershell | Out-String | Invoke-Expression`,
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root, w := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(w, true)
			case "zsh":
				return root.GenZshCompletion(w)
			case "fish":
				return root.GenFishCompletion(w, true)
			default:
				return root.GenPowerShellCompletionWithDesc(w)
			}
		},
	}
	return cmd
}

// addCompletions registers the value completions of every command under
// root: -o from the flag's own list of formats, --region, and account
// names from the store for "history ACCOUNT" and "scores --subuser".
func addCompletions(root *cobra.Command) {
	_ = root.RegisterFlagCompletionFunc("region", cobra.FixedCompletions(cliRegions, cobra.ShellCompDirectiveNoFileComp))
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if f := c.Flags().Lookup("output"); f != nil {
			if vals := completionFormats(f); len(vals) > 0 {
				_ = c.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp))
			}
		}
		if f := c.Flags().Lookup("in-region"); f != nil {
			_ = c.RegisterFlagCompletionFunc("in-region", cobra.FixedCompletions([]string{"all", "global", "eu"}, cobra.ShellCompDirectiveNoFileComp))
		}
		switch c.CommandPath() {
		case "sgseq history":
			c.ValidArgsFunction = func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return completionAccounts(cmd, true), cobra.ShellCompDirectiveNoFileComp
			}
		case "sgseq scores":
			_ = c.RegisterFlagCompletionFunc("subuser", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
				return completionAccounts(cmd, false), cobra.ShellCompDirectiveNoFileComp
			})
		}
	}
	walk(root)
}

// completionFormats reads the formats from the usage of an -o flag
// ("output format: table, wide (…), json or csv").
func completionFormats(f *pflag.Flag) []string {
	_, list, ok := strings.Cut(f.Usage, "format:")
	if !ok {
		return nil
	}
	list = completionParens.ReplaceAllString(list, "")
	var out []string
	for _, part := range strings.FieldsFunc(list, func(r rune) bool { return r == ',' }) {
		for _, w := range strings.Split(part, " or ") {
			w = strings.TrimSpace(w)
			if i := strings.IndexAny(w, " ("); i >= 0 {
				w = w[:i]
			}
			if w != "" {
				out = append(out, w)
			}
		}
	}
	return out
}

// completionParens matches a parenthesised remark in a flag's usage.
var completionParens = regexp.MustCompile(`\([^)]*\)`)

// completionAccounts lists the accounts in the store (of --config or the
// environment); none when there is no store. withParent includes the
// parent's "(parent)".
func completionAccounts(cmd *cobra.Command, withParent bool) []string {
	path := ""
	if f := cmd.Flags().Lookup("config"); f != nil {
		path = f.Value.String()
	}
	st, err := monOpenConfigStore(cmd, path)
	if err != nil {
		return nil
	}
	defer st.Close()
	latest, err := st.Latest(cmd.Context())
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range latest {
		if !withParent && strings.HasPrefix(l.Account, "(") {
			continue
		}
		out = append(out, l.Account)
	}
	return out
}

// completionHelp is the README's completion paragraph, also in the root
// --help.
func completionHelp() string {
	return fmt.Sprintf("Shell completion: %s (see \"sgseq completion --help\").", `source <(sgseq completion bash)`)
}

package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// docsFiles are the Markdown files whose sgseq commands and flags must
// exist in the binary.
func docsFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"../../README.md", "../../CONTRIBUTING.md", "../../bench/README.md"}
	more, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append(files, more...)
}

// docsCommandRe finds "sgseq" followed by what is run: a subcommand or a
// flag.
var docsCommandRe = regexp.MustCompile(`(?:^|[\s(` + "`" + `/$])sgseq((?:\s+[^\s|;&#>` + "`" + `)]+)+)`)

// docsInvocations returns the sgseq command lines of a Markdown file: the
// lines of fenced code blocks and the inline code spans, each cut at a
// pipe, redirection, ";", "&&" or comment, with "file:line" for errors.
func docsInvocations(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	inFence := false
	spanRe := regexp.MustCompile("`([^`]+)`")
	for i, line := range strings.Split(string(b), "\n") {
		where := filepath.Base(path) + ":" + strconv.Itoa(i+1)
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		var texts []string
		if inFence {
			// Drop a shell comment.
			if i := strings.Index(line, " #"); i >= 0 {
				line = line[:i]
			}
			texts = []string{line}
		} else {
			for _, m := range spanRe.FindAllStringSubmatch(line, -1) {
				texts = append(texts, m[1])
			}
		}
		for _, text := range texts {
			for _, m := range docsCommandRe.FindAllStringSubmatchIndex(text, -1) {
				if !docsCommandPosition(text[:m[2]-len("sgseq")]) {
					continue
				}
				args := text[m[2]:m[3]]
				out[where+": sgseq"+args] = strings.TrimSpace(args)
			}
		}
	}
	return out
}

// docsCommandPosition reports whether "sgseq" after before stands where a
// shell runs a command: at the start, after a separator, or after a word
// that runs the rest ("sudo", "VAR=value"), not as an argument of another
// command ("kubectl create secret generic sgseq ...").
func docsCommandPosition(before string) bool {
	before = strings.TrimRight(before, " \t")
	if before == "" || strings.ContainsAny(before[len(before)-1:], "$|&;(`") {
		return true
	}
	if strings.HasSuffix(before, "/") { // a path: ./dist/sgseq, /usr/bin/sgseq
		i := strings.LastIndexAny(before, " \t")
		return docsCommandPosition(before[:i+1])
	}
	words := strings.Fields(before)
	last := words[len(words)-1]
	switch last {
	case "sudo", "exec", "time", "nice", "env", "command", "xargs", "watch", "timeout":
		return true
	}
	return strings.Contains(last, "=") && !strings.HasPrefix(last, "-")
}

// TestDocsCommandsExist checks that every command and flag named after
// "sgseq" in README.md and docs/ exists in the command tree of
// newRootCmd.
func TestDocsCommandsExist(t *testing.T) {
	t.Parallel()
	root := newRootCmd()
	checked := 0
	for _, path := range docsFiles(t) {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		for where, inv := range docsInvocations(t, path) {
			words := strings.Fields(inv)
			// The command path: the leading words that name subcommands,
			// global flags (and their values) allowed before them.
			cmd := root
			i := 0
			var early []string
			for ; i < len(words); i++ {
				w := strings.Trim(words[i], "[]()\"'")
				if strings.HasPrefix(w, "-") {
					early = append(early, w)
					if f := docsFlagOf(cmd, w); f != nil && f.Value.Type() != "bool" && !strings.Contains(w, "=") {
						i++
					}
					continue
				}
				next := docsSubcommand(cmd, w)
				if next == nil {
					break
				}
				cmd = next
			}
			if cmd == root && i < len(words) {
				// "sgseq" in prose ("sgseq's", "sgseq is"), not a command.
				if w := words[i]; regexp.MustCompile(`^[a-z]+$`).MatchString(w) && docsLooksLikeCommand(w) {
					t.Errorf("%s: no command %q", where, w)
				}
				continue
			}
			checked++
			for _, w := range append(early, words[min(i, len(words)):]...) {
				for _, f := range docsFlags(w) {
					if !docsHasFlag(cmd, f) {
						t.Errorf("%s: %q has no flag %s", where, cmd.CommandPath(), f)
					}
				}
			}
		}
	}
	if checked < 30 {
		t.Errorf("only %d sgseq invocations found in the docs: is the parser broken?", checked)
	}
}

// docsLooksLikeCommand reports whether a word after "sgseq" in prose is
// meant as a subcommand (the docs write "sgseq scores" for the command,
// "sgseq is" for the program).
func docsLooksLikeCommand(w string) bool {
	switch w {
	case "is", "and", "or", "the", "itself", "knows", "binary", "command", "commands", "rates", "has", "does", "can", "reads", "writes", "prints":
		return false
	}
	return true
}

// docsSubcommand returns cmd's subcommand named (or aliased) w, or nil.
func docsSubcommand(cmd *cobra.Command, w string) *cobra.Command {
	for _, c := range cmd.Commands() {
		if c.Name() == w || c.HasAlias(w) {
			return c
		}
	}
	return nil
}

// docsFlagRe matches a flag at the start of a word: --name or -x.
var docsFlagRe = regexp.MustCompile(`^\[?(--[a-z][a-z0-9-]*|-[a-zA-Z])(?:[=\]|,.]|$)`)

// docsFlags returns the flags a word names ("--out", "[--yes]",
// "--section=10", "-o").
func docsFlags(w string) []string {
	var out []string
	for _, part := range strings.Split(w, "|") {
		part = strings.TrimLeft(part, "[(")
		if m := docsFlagRe.FindStringSubmatch(part); m != nil {
			out = append(out, m[1])
		}
	}
	return out
}

// docsFlagOf returns the flag w (--name, --name=v or -x) of cmd, or nil.
func docsFlagOf(cmd *cobra.Command, w string) *pflag.Flag {
	name, _, _ := strings.Cut(w, "=")
	for c := cmd; c != nil; c = c.Parent() {
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags()} {
			var f *pflag.Flag
			if n, ok := strings.CutPrefix(name, "--"); ok {
				f = fs.Lookup(n)
			} else {
				f = fs.ShorthandLookup(strings.TrimPrefix(name, "-"))
			}
			if f != nil {
				return f
			}
		}
	}
	return nil
}

// docsHasFlag reports whether cmd takes flag (--name or -x), its own or
// inherited; --help and --version are cobra's.
func docsHasFlag(cmd *cobra.Command, flag string) bool {
	if flag == "--help" || flag == "-h" || (flag == "--version" && cmd == cmd.Root()) {
		return true
	}
	fs := []*cobra.Command{cmd}
	for p := cmd.Parent(); p != nil; p = p.Parent() {
		fs = append(fs, p)
	}
	for _, c := range fs {
		if name, ok := strings.CutPrefix(flag, "--"); ok {
			if c.Flags().Lookup(name) != nil || c.PersistentFlags().Lookup(name) != nil {
				return true
			}
			continue
		}
		short := strings.TrimPrefix(flag, "-")
		if c.Flags().ShorthandLookup(short) != nil || c.PersistentFlags().ShorthandLookup(short) != nil {
			return true
		}
	}
	return false
}

// TestDocsParser checks the docs parser on known lines.
func TestDocsParser(t *testing.T) {
	t.Parallel()
	tests := []struct {
		word string
		want []string
	}{
		{"--out", []string{"--out"}},
		{"[--yes]", []string{"--yes"}},
		{"--section=10", []string{"--section"}},
		{"-o", []string{"-o"}},
		{"table|json|csv", nil},
		{"[--subuser", []string{"--subuser"}},
		{"NAME", nil},
	}
	for _, tt := range tests {
		got := docsFlags(tt.word)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("docsFlags(%q) = %v, want %v", tt.word, got, tt.want)
		}
	}
	root := newRootCmd()
	if !docsHasFlag(docsSubcommand(root, "scores"), "--region") {
		t.Error("scores does not inherit --region")
	}
	if docsHasFlag(docsSubcommand(root, "scores"), "--nope") {
		t.Error("--nope found")
	}
}

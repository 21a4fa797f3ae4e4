package monitor

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sgseq/sgseq/internal/secret"
)

// decodeYAML parses data into a yaml.Node, expands ${ENV} references in
// scalar values, then decodes the tree into out field by field so that each
// problem (syntax, unknown key, wrong type, unset variable) is reported as a
// *FieldError with file, line and field path. lines receives the line of
// every field path seen.
//
// It returns the fields whose secret value is written in the file itself
// (not a ${VAR} reference), and at most [MaxConfigProblems] problems (one
// more error counts the rest).
func decodeYAML(file string, data []byte, out any, env Env, lines map[string]int) ([]string, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		// "yaml: line 3: did not find expected key" -> "file:3: YAML syntax: did not find expected key"
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(yamlLinePrefixRE.ReplaceAllString(msg, ""), ": ")
		return nil, &FieldError{File: file, Line: yamlErrLine(err), Err: fmt.Errorf("%w: YAML syntax: %s", ErrInvalid, cutText(msg, maxMessage))}
	}
	if root.Kind == 0 { // empty document
		return nil, nil
	}
	d := &yamlDecoder{file: file, env: env, lines: lines}
	doc := &root
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		doc = doc.Content[0]
	}
	d.decode(doc, reflect.ValueOf(out).Elem(), "")
	if d.dropped > 0 {
		d.errs = append(d.errs, &moreProblems{file: file, n: d.dropped})
	}
	return d.literalSecrets, errors.Join(d.errs...)
}

var (
	yamlLineRE       = regexp.MustCompile(`line (\d+)`)
	yamlLinePrefixRE = regexp.MustCompile(`^line \d+`)
)

func yamlErrLine(err error) int {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

type yamlDecoder struct {
	file  string
	env   Env
	lines map[string]int
	errs  []error
	// raw maps a scalar node whose value came from ${VAR} expansion to its
	// text as written, so that an error shows "${VAR}", never the
	// variable's value (which may be a secret).
	raw map[*yaml.Node]string
	// dropped counts the problems past MaxConfigProblems, not kept.
	dropped int
	// literalSecrets lists the secret fields whose value is written in
	// the file (not a ${VAR} reference).
	literalSecrets []string
}

// shown is the text of scalar n to quote in an error: as written in the
// file (before ${VAR} expansion).
func (d *yamlDecoder) shown(n *yaml.Node) string {
	if r, ok := d.raw[n]; ok {
		return r
	}
	return n.Value
}

func (d *yamlDecoder) fail(n *yaml.Node, field string, err error) {
	if len(d.errs) >= MaxConfigProblems {
		d.dropped++
		return
	}
	d.errs = append(d.errs, &FieldError{File: d.file, Line: n.Line, Field: field, Err: err})
}

var (
	durationType  = reflect.TypeFor[time.Duration]()
	secretType    = reflect.TypeFor[secret.Secret]()
	unmarshalerT  = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshal = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// decode fills v from n. field is the dotted path of v.
func (d *yamlDecoder) decode(n *yaml.Node, v reflect.Value, field string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if field != "" {
		d.lines[field] = n.Line
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // "key:" with no value keeps the default
	}
	if v.Type() == secretType && n.Kind == yaml.ScalarNode && strings.TrimSpace(n.Value) != "" && !strings.Contains(n.Value, "${") {
		d.literalSecrets = append(d.literalSecrets, field)
	}
	if n.Kind == yaml.ScalarNode && (n.Tag == "" || n.Tag == "!!str" || n.ShortTag() == "!!str") && strings.Contains(n.Value, "${") {
		val, err := expandEnv(n.Value, d.env)
		if err != nil {
			d.fail(n, field, err)
			return
		}
		c := *n
		c.Value = val
		if n.Style == 0 || n.Style == yaml.FlowStyle {
			c.Tag = "" // re-resolve: "${PORT:-4}" may be an int
		}
		if d.raw == nil {
			d.raw = map[*yaml.Node]string{}
		}
		d.raw[&c] = n.Value
		n = &c
	}
	// Types with their own YAML or text decoding: hand over the node.
	if v.CanAddr() && v.Kind() != reflect.Pointer {
		pt := v.Addr().Type()
		if pt.Implements(unmarshalerT) || (pt.Implements(textUnmarshal) && n.Kind == yaml.ScalarNode) {
			if err := n.Decode(v.Addr().Interface()); err != nil {
				d.fail(n, field, fmt.Errorf("%w: %s", ErrInvalid, cleanYAMLErr(err)))
			}
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), field)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.fail(n, field, fmt.Errorf("%w: want a mapping of keys, got %s", ErrInvalid, describeKind(n)))
			return
		}
		d.decodeStruct(n, v, field)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			d.fail(n, field, fmt.Errorf("%w: want a mapping, got %s", ErrInvalid, describeKind(n)))
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			kv := reflect.New(v.Type().Key()).Elem()
			if err := k.Decode(kv.Addr().Interface()); err != nil {
				d.fail(k, field, fmt.Errorf("%w: bad key %s: %s", ErrInvalid, quoted(k.Value), cleanYAMLErr(err)))
				continue
			}
			ev := reflect.New(v.Type().Elem()).Elem()
			d.decode(val, ev, join(field, shortKey(k.Value)))
			v.SetMapIndex(kv, ev)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, field, fmt.Errorf("%w: want a list, got %s", ErrInvalid, describeKind(n)))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, e := range n.Content {
			d.decode(e, s.Index(i), fmt.Sprintf("%s[%d]", field, i))
		}
		v.Set(s)
	default:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, field, fmt.Errorf("%w: want %s, got %s", ErrInvalid, kindName(v.Type()), describeKind(n)))
			return
		}
		if v.Type() == durationType {
			dur, err := time.ParseDuration(n.Value)
			if err != nil {
				d.fail(n, field, fmt.Errorf("%w: want a duration such as 30s or 24h, got %s", ErrInvalid, quoted(d.shown(n))))
				return
			}
			v.SetInt(int64(dur))
			return
		}
		if v.Kind() == reflect.String && n.ShortTag() != "!!str" {
			// A plain scalar that YAML resolves to a number or bool
			// (port: 8080, channel: 123) is still fine as a string.
			v.SetString(n.Value)
			return
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			d.fail(n, field, fmt.Errorf("%w: want %s, got %s", ErrInvalid, kindName(v.Type()), quoted(d.shown(n))))
		}
	}
}

func (d *yamlDecoder) decodeStruct(n *yaml.Node, v reflect.Value, field string) {
	fields := map[string]reflect.Value{}
	collectFields(v, fields)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		name := k.Value
		path := join(field, shortKey(name))
		if seen[name] {
			d.fail(k, path, fmt.Errorf("%w: key %s appears twice", ErrInvalid, quoted(name)))
			continue
		}
		seen[name] = true
		fv, ok := fields[name]
		if !ok && len(d.errs) >= MaxConfigProblems {
			d.dropped++ // counted, not built
			continue
		}
		if !ok {
			d.fail(k, path, fmt.Errorf("%w %s%s", ErrUnknownField, quoted(name), suggest(name, fields)))
			continue
		}
		d.decode(val, fv, path)
		d.lines[path] = k.Line
	}
}

// collectFields maps yaml names to the settable fields of struct v,
// descending into ",inline" fields.
func collectFields(v reflect.Value, out map[string]reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct {
			collectFields(v.Field(i), out)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = v.Field(i)
	}
}

// suggest returns ` (did you mean "x"?)` for a near-miss key.
func suggest(name string, fields map[string]reflect.Value) string {
	if len(name) > maxShown {
		return "" // no near miss, and no quadratic work on a huge key
	}
	best, bestD := "", 3
	for k := range fields {
		if dd := editDistance(name, k); dd < bestD || (dd == bestD && k < best && best != "") {
			best, bestD = k, dd
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// describeKind names the kind of n for a type mismatch. A scalar's value
// is not quoted: in the wrong place (a key mis-indented under "sendgrid:")
// it may be a secret.
func describeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "an unexpected node"
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	}
	return t.String()
}

func cleanYAMLErr(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "yaml: unmarshal errors:\n  ")
	s = strings.TrimPrefix(s, "yaml: ")
	return yamlLineRE.ReplaceAllString(s, "")
}

// expandEnv replaces ${VAR} and ${VAR:-default} in s; "$$" is a literal
// "$". A ${VAR} with VAR unset (and no default) is an error naming VAR; the
// value itself never appears in an error.
func expandEnv(s string, env Env) (string, error) {
	var b strings.Builder
	var missing []string
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf("%w: unterminated ${ in value", ErrInvalid)
		}
		expr := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validEnvName(name) {
			return "", fmt.Errorf("%w: bad variable name %q in ${...}", ErrInvalid, name)
		}
		v, ok := env.lookup(name)
		switch {
		case ok && v != "":
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		case ok:
			// set but empty: expands to ""
		default:
			missing = append(missing, name)
		}
		i += 2 + end
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("%w: %s (use ${%s:-} for an optional value)", ErrEnvUnset, strings.Join(missing, ", "), missing[0])
	}
	return b.String(), nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}
